# The service block example of Nomad's documentation.
job "docs" {
  group "example" {
    task "server" {
      driver = "docker"

      config {
        image = "mysql:8"
      }

      service {
        tags     = ["leader", "mysql"]
        port     = "db"
        provider = "consul"

        meta {
          meta = "for your service"
        }

        check {
          type     = "tcp"
          port     = "db"
          interval = "10s"
          timeout  = "2s"
        }

        check {
          type     = "script"
          name     = "check_table"
          command  = "/usr/local/bin/check_mysql_table_status"
          args     = ["--verbose"]
          interval = "60s"
          timeout  = "5s"

          check_restart {
            limit           = 3
            grace           = "90s"
            ignore_warnings = false
          }
        }
      }
    }
  }
}
