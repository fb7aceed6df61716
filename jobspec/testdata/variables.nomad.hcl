# Input variables, locals, functions, for expressions, heredocs and dynamic
# blocks. Values come from variables.vars.hcl, variables.vars.json,
# NOMAD_VAR_image_tag and -var flags (see jobspec_test.go).
variable "datacenters" {
  type        = list(string)
  description = "Datacenters to run in"
  default     = ["dc1"]
}

variable "image_tag" {
  type = string
}

variable "replicas" {
  type    = number
  default = 1

  validation {
    condition     = var.replicas > 0 && var.replicas < 10
    error_message = "The replicas value must be between 1 and 9."
  }
}

variable "ports" {
  type = map(number)
  default = {
    http = 8080
  }
}

variable "services" {
  type = list(object({
    name = string
    port = string
  }))
  default = []
}

variable "debug" {
  type    = bool
  default = false
}

variable "db_password" {
  type      = string
  sensitive = true
  default   = "hunter2"
}

locals {
  image    = "registry.example.com/app:${var.image_tag}"
  env_name = var.debug ? "debug" : "release"
}

locals {
  labels      = { for k, v in var.ports : k => "port-${v}" }
  port_names  = sort(keys(var.ports))
  upper_names = [for n in local.port_names : upper(n)]
}

job "vars" {
  datacenters = var.datacenters

  meta {
    env_name    = local.env_name
    port_names  = join(",", local.port_names)
    upper_names = join(",", local.upper_names)
    first_dc    = var.datacenters[0]
    dc_count    = length(var.datacenters)
    checksum    = md5("static")
    labels_json = jsonencode(local.labels)
  }

  dynamic "group" {
    for_each = ["a", "b"]
    labels   = ["app-${group.value}"]

    content {
      count = var.replicas

      network {
        dynamic "port" {
          for_each = var.ports
          labels   = [port.key]

          content {
            to = port.value
          }
        }
      }

      dynamic "service" {
        for_each = var.services
        iterator = svc

        content {
          name = "${svc.value.name}-${group.value}"
          port = svc.value.port
        }
      }

      task "app" {
        driver = "docker"

        config {
          image = local.image
          args  = [for p in local.port_names : "--listen=${p}:${var.ports[p]}"]

          dynamic "mount" {
            for_each = ["/data", "/logs"]

            content {
              type   = "volume"
              target = mount.value
            }
          }
        }

        env {
          DB_PASSWORD = var.db_password
          GROUP       = group.value
          NODE        = "${node.unique.name}"
        }

        template {
          destination = "local/app.conf"
          data        = <<-EOT
            listen = ${var.ports["http"]}
            name   = {{ env "NOMAD_ALLOC_NAME" }}
          EOT
        }
      }
    }
  }
}
