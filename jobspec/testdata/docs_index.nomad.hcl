# The example job of Nomad's job specification overview page.
job "docs" {
  region      = "us"
  datacenters = ["us-west-1", "us-east-1"]
  type        = "service"

  update {
    stagger      = "30s"
    max_parallel = 2
  }

  group "webs" {
    count = 5

    network {
      port "http" {}
      port "https" {
        static = 443
      }
    }

    service {
      port = "http"

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "frontend" {
      driver = "docker"

      config {
        image = "hashicorp/web-frontend"
        ports = ["http", "https"]
      }

      env {
        DB_HOST = "db01.example.com"
        DB_USER = "web"
        DB_PASS = "loremipsum"
      }

      resources {
        cpu    = 500
        memory = 128
      }
    }
  }
}
