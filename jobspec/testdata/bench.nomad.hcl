# A ~300-line job for BenchmarkParse: variables, locals, functions, dynamic
# blocks, services, templates and free-form driver config.
variable "datacenters" {
  type    = list(string)
  default = ["dc1", "dc2"]
}

variable "image_tag" {
  type    = string
  default = "1.4.2"
}

variable "workers" {
  type = map(object({
    count  = number
    cpu    = number
    memory = number
  }))
  default = {
    small  = { count = 2, cpu = 200, memory = 128 }
    medium = { count = 1, cpu = 500, memory = 256 }
    large  = { count = 1, cpu = 1000, memory = 1024 }
  }
}

variable "ports" {
  type    = list(string)
  default = ["http", "metrics", "admin"]
}

locals {
  image   = "registry.example.com/app:${var.image_tag}"
  env_tag = upper(substr(var.image_tag, 0, 1))
  common_env = {
    LOG_LEVEL = "info"
    REGION    = "${node.region}"
  }
}

job "bench" {
  datacenters = var.datacenters
  type        = "service"

  meta {
    owner = "bench"
    tag   = local.env_tag
  }

  update {
    max_parallel     = 2
    min_healthy_time = "15s"
    healthy_deadline = "5m"
  }

  dynamic "group" {
    for_each = var.workers
    labels   = ["worker-${group.key}"]

    content {
      count = group.value.count

      network {
        dynamic "port" {
          for_each = var.ports
          labels   = [port.value]
          content {}
        }
      }

      task "worker" {
        driver = "docker"

        config {
          image = local.image
          args  = [for p in var.ports : "--${p}-port=$${NOMAD_PORT_${p}}"]
        }

        env {
          SIZE = group.key
        }

        resources {
          cpu    = group.value.cpu
          memory = group.value.memory
        }
      }
    }
  }

  group "svc1" {
    count = 1

    network {
      port "http" {
        to = 8010
      }
    }

    restart {
      attempts = 3
      interval = "10m"
      delay    = "20s"
      mode     = "delay"
    }

    service {
      name = "svc1"
      port = "http"
      tags = ["v${var.image_tag}", "svc1"]

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "app" {
      driver = "docker"

      config {
        image = local.image
        ports = ["http"]

        mount {
          type   = "bind"
          source = "local/svc1"
          target = "/etc/svc1"
        }
      }

      env {
        LOG_LEVEL = local.common_env.LOG_LEVEL
        REGION    = local.common_env.REGION
        INDEX     = "1"
      }

      template {
        destination = "local/svc1/app.conf"
        data        = <<-EOT
          listen = {{ env "NOMAD_PORT_http" }}
          dc     = ${join(",", var.datacenters)}
        EOT
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }
  }

  group "svc2" {
    count = 2

    network {
      port "http" {
        to = 8020
      }
    }

    restart {
      attempts = 3
      interval = "10m"
      delay    = "20s"
      mode     = "delay"
    }

    service {
      name = "svc2"
      port = "http"
      tags = ["v${var.image_tag}", "svc2"]

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "app" {
      driver = "docker"

      config {
        image = local.image
        ports = ["http"]

        mount {
          type   = "bind"
          source = "local/svc2"
          target = "/etc/svc2"
        }
      }

      env {
        LOG_LEVEL = local.common_env.LOG_LEVEL
        REGION    = local.common_env.REGION
        INDEX     = "2"
      }

      template {
        destination = "local/svc2/app.conf"
        data        = <<-EOT
          listen = {{ env "NOMAD_PORT_http" }}
          dc     = ${join(",", var.datacenters)}
        EOT
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }

  group "svc3" {
    count = 3

    network {
      port "http" {
        to = 8030
      }
    }

    restart {
      attempts = 3
      interval = "10m"
      delay    = "20s"
      mode     = "delay"
    }

    service {
      name = "svc3"
      port = "http"
      tags = ["v${var.image_tag}", "svc3"]

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "app" {
      driver = "docker"

      config {
        image = local.image
        ports = ["http"]

        mount {
          type   = "bind"
          source = "local/svc3"
          target = "/etc/svc3"
        }
      }

      env {
        LOG_LEVEL = local.common_env.LOG_LEVEL
        REGION    = local.common_env.REGION
        INDEX     = "3"
      }

      template {
        destination = "local/svc3/app.conf"
        data        = <<-EOT
          listen = {{ env "NOMAD_PORT_http" }}
          dc     = ${join(",", var.datacenters)}
        EOT
      }

      resources {
        cpu    = 300
        memory = 128
      }
    }
  }

  group "svc4" {
    count = 4

    network {
      port "http" {
        to = 8040
      }
    }

    restart {
      attempts = 3
      interval = "10m"
      delay    = "20s"
      mode     = "delay"
    }

    service {
      name = "svc4"
      port = "http"
      tags = ["v${var.image_tag}", "svc4"]

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "app" {
      driver = "docker"

      config {
        image = local.image
        ports = ["http"]

        mount {
          type   = "bind"
          source = "local/svc4"
          target = "/etc/svc4"
        }
      }

      env {
        LOG_LEVEL = local.common_env.LOG_LEVEL
        REGION    = local.common_env.REGION
        INDEX     = "4"
      }

      template {
        destination = "local/svc4/app.conf"
        data        = <<-EOT
          listen = {{ env "NOMAD_PORT_http" }}
          dc     = ${join(",", var.datacenters)}
        EOT
      }

      resources {
        cpu    = 400
        memory = 128
      }
    }
  }
}
