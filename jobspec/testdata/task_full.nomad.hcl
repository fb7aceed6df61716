# Every task-level attribute and block.
job "task-full" {
  datacenters = ["dc1"]
  type        = "service"

  group "app" {
    network {
      port "http" {}
    }

    task "init" {
      driver = "exec"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        command = "/bin/setup"
      }
    }

    task "web" {
      driver         = "docker"
      user           = "nobody"
      kill_timeout   = "20s"
      kill_signal    = "SIGINT"
      shutdown_delay = "3s"
      leader         = true

      config {
        image   = "nginx:1.25"
        ports   = ["http"]
        command = "nginx"
        args    = ["-g", "daemon off;", "-p", "${NOMAD_PORT_http}"]
        labels = {
          team = "web"
        }
        privileged = false
        cpu_hard_limit = true
        memory_hard_limit = 512

        mount {
          type   = "bind"
          source = "local/conf"
          target = "/etc/nginx/conf.d"
        }

        mount {
          type   = "tmpfs"
          target = "/tmp"
        }

        logging {
          type = "journald"
          config {
            tag = "web"
          }
        }
      }

      env {
        PORT     = "${NOMAD_PORT_http}"
        DC       = "Running on datacenter ${node.datacenter}"
        KERNEL   = "${attr.kernel.name}"
        RACK     = "${meta.rack}"
        FEATURES = 3
      }

      meta {
        version = "v1"
      }

      resources {
        cpu        = 500
        memory     = 256
        memory_max = 1024

        device "nvidia/gpu" {
          count = 2

          constraint {
            attribute = "${device.attr.memory}"
            operator  = ">="
            value     = "2 GiB"
          }

          affinity {
            attribute = "${device.model}"
            value     = "Tesla K80"
            weight    = 50
          }
        }
      }

      logs {
        max_files     = 3
        max_file_size = 15
      }

      restart {
        attempts = 1
        delay    = "5s"
      }

      template {
        data        = <<EOH
upstream backend {
{{ range service "api" }}  server {{ .Address }}:{{ .Port }};
{{ end }}}
EOH
        destination = "local/conf/default.conf"
        change_mode = "signal"
        change_signal = "SIGHUP"
        perms       = "0600"
        splay       = "10s"

        wait {
          min = "2s"
          max = "10s"
        }
      }

      template {
        source      = "local/app.env.tpl"
        destination = "secrets/app.env"
        env         = true
        change_mode = "script"

        change_script {
          command       = "/local/reload.sh"
          args          = ["-v"]
          timeout       = "5s"
          fail_on_error = true
        }
      }

      artifact {
        source      = "https://example.com/file.tar.gz"
        destination = "local/some-directory"
        mode        = "any"

        options {
          checksum = "md5:df6a4178aec9fbdc1d6d7e3634d1bc33"
        }

        headers {
          User-Agent = "nomad-[${NOMAD_JOB_ID}]-[${NOMAD_GROUP_NAME}]-[${NOMAD_TASK_NAME}]"
        }
      }

      vault {
        policies    = ["web"]
        change_mode = "restart"
        role        = "web-role"
      }

      identity {
        env  = true
        file = true
      }

      identity {
        name = "vault_default"
        aud  = ["vault.io"]
        ttl  = "1h"
      }

      service {
        name = "web"
        port = "http"
        tags = ["urlprefix-/"]

        meta {
          version = "1"
        }

        check {
          type     = "http"
          path     = "/"
          interval = "10s"
          timeout  = "2s"
        }
      }

      scaling "cpu" {
        enabled = true
        max     = 1000

        policy {
          cooldown = "5m"
        }
      }

      action "uptime" {
        command = "/usr/bin/uptime"
        args    = ["-p"]
      }
    }

    task "plugin" {
      driver = "docker"

      config {
        image = "csi-driver:1"
      }

      csi_plugin {
        id        = "csi-hostpath"
        type      = "monolith"
        mount_dir = "/csi"
      }
    }
  }
}
