# Every group-level attribute and block.
job "group-full" {
  datacenters = ["dc1"]

  group "cache" {
    count                      = 3
    shutdown_delay             = "6s"

    meta {
      role = "cache"
    }

    consul {
      namespace = "cache-ns"
    }

    # A group-level vault block applies to every task without its own.
    vault {
      policies = ["cache-read"]
    }

    network {
      mode     = "bridge"
      hostname = "cache-host"

      port "db" {
        to = 6379
      }

      port "admin" {
        static = 8080
        to     = 80
      }

      port "metrics" {
        host_network = "internal"
      }

      dns {
        servers  = ["1.1.1.1", "8.8.8.8"]
        searches = ["internal.example"]
        options  = ["ndots:2"]
      }
    }

    ephemeral_disk {
      sticky  = true
      migrate = true
      size    = 500
    }

    restart {
      attempts = 10
      interval = "5m"
      delay    = "25s"
      mode     = "delay"
    }

    reschedule {
      delay          = "30s"
      delay_function = "constant"
      unlimited      = true
    }

    update {
      max_parallel = 1
      canary       = 2
    }

    migrate {
      max_parallel = 2
    }

    scaling {
      enabled = true
      min     = 2
      max     = 10

      policy {
        cooldown            = "1m"
        evaluation_interval = "30s"

        check "avg_cpu" {
          source = "nomad-apm"
          query  = "avg_cpu"

          strategy "target-value" {
            target = 70
          }
        }
      }
    }

    disconnect {
      lost_after = "1h"
      replace    = false
      reconcile  = "keep_original"
    }

    volume "certs" {
      type      = "host"
      source    = "ca-certificates"
      read_only = true
    }

    volume "data" {
      type            = "csi"
      source          = "data-volume"
      access_mode     = "single-node-writer"
      attachment_mode = "file-system"
      per_alloc       = true

      mount_options {
        fs_type     = "ext4"
        mount_flags = ["noatime"]
      }
    }

    service {
      name     = "cache"
      port     = "db"
      tags     = ["cache", "redis"]
      provider = "consul"

      check {
        name     = "alive"
        type     = "tcp"
        interval = "10s"
        timeout  = "2s"
      }

      check {
        type     = "http"
        path     = "/health"
        port     = "admin"
        interval = "15s"
        timeout  = "3s"
        method   = "POST"
        body     = "{}"

        header {
          Authorization = ["Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="]
        }

        check_restart {
          limit           = 3
          grace           = "90s"
          ignore_warnings = false
        }
      }

      check {
        type         = "grpc"
        port         = "db"
        interval     = "5s"
        timeout      = "1s"
        grpc_service = "cache.Health"
        grpc_use_tls = true
      }

      check {
        type     = "script"
        command  = "/usr/local/bin/check"
        args     = ["--quick"]
        task     = "redis"
        interval = "30s"
        timeout  = "5s"
      }
    }

    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
        ports = ["db"]
      }

      volume_mount {
        volume      = "certs"
        destination = "/etc/ssl/certs"
        read_only   = true
      }
    }
  }

  # The attributes the disconnect block replaced. Each conflicts with the
  # block, and max_client_disconnect with stop_after_client_disconnect, so
  # they sit in groups of their own.
  group "legacy-lost" {
    max_client_disconnect      = "2h"
    prevent_reschedule_on_lost = true

    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
      }
    }
  }

  group "legacy-stop" {
    stop_after_client_disconnect = "90s"

    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
      }
    }
  }
}
