# Consul service mesh, after the "countdash" example of Nomad's documentation,
# with a sidecar_task override and an ingress gateway.
job "countdash" {
  datacenters = ["dc1"]

  group "api" {
    network {
      mode = "bridge"
    }

    service {
      name = "count-api"
      port = "9001"

      connect {
        sidecar_service {}

        sidecar_task {
          resources {
            cpu    = 64
            memory = 64
          }
          shutdown_delay = "5s"
        }
      }
    }

    task "web" {
      driver = "docker"

      config {
        image = "hashicorpdev/counter-api:v3"
      }
    }
  }

  group "dashboard" {
    network {
      mode = "bridge"

      port "http" {
        static = 9002
        to     = 9002
      }
    }

    service {
      name = "count-dashboard"
      port = "9002"

      connect {
        sidecar_service {
          tags = ["mesh"]

          proxy {
            local_service_port = 9002

            upstreams {
              destination_name = "count-api"
              local_bind_port  = 8080

              mesh_gateway {
                mode = "local"
              }
            }

            expose {
              path {
                path            = "/health"
                protocol        = "http"
                local_path_port = 9002
                listener_port   = "http"
              }
            }

            config {
              protocol = "http"
            }
          }
        }
      }
    }

    task "dashboard" {
      driver = "docker"

      env {
        COUNTING_SERVICE_URL = "http://${NOMAD_UPSTREAM_ADDR_count_api}"
      }

      config {
        image = "hashicorpdev/counter-dashboard:v3"
      }
    }
  }

  group "ingress" {
    network {
      mode = "bridge"

      port "inbound" {
        static = 8080
        to     = 8080
      }
    }

    service {
      name = "my-ingress-service"
      port = "8080"

      connect {
        gateway {
          proxy {
            connect_timeout = "500ms"

            envoy_gateway_bind_addresses "inbound" {
              address = "0.0.0.0"
              port    = 8080
            }
          }

          ingress {
            tls {
              enabled = true
            }

            listener {
              port     = 8080
              protocol = "tcp"

              service {
                name = "count-dashboard"
              }
            }
          }
        }
      }
    }
  }
}
