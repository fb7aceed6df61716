# Every job-level attribute and block.
job "full-job" {
  name             = "Full Job"
  region           = "north-america"
  namespace        = "platform"
  datacenters      = ["us-east-1", "us-west-1"]
  node_pool        = "prod"
  type             = "service"
  priority         = 70
  all_at_once      = true
  consul_namespace = "team-a"
  vault_namespace  = "team-a-secrets"

  meta {
    owner = "platform-team"
    tier  = 1
  }

  ui {
    description = "A **full** job"
    link {
      label = "Runbook"
      url   = "https://example.com/runbook"
    }
  }

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  constraint {
    attribute = "${attr.kernel.version}"
    version   = ">= 3.19"
  }

  constraint {
    distinct_hosts = true
  }

  constraint {
    distinct_property = "${meta.rack}"
    value             = "2"
  }

  constraint {
    attribute = "${attr.unique.hostname}"
    operator  = "regexp"
    value     = "^web-[0-9]+$"
  }

  affinity {
    attribute = "${node.datacenter}"
    value     = "us-west-1"
    weight    = 100
  }

  affinity {
    attribute = "${meta.tags}"
    set_contains_any = "ssd,fast"
    weight           = -50
  }

  spread {
    attribute = "${node.datacenter}"
    weight    = 100

    target "us-east-1" {
      percent = 60
    }

    target "us-west-1" {
      percent = 40
    }
  }

  update {
    max_parallel      = 2
    health_check      = "checks"
    min_healthy_time  = "15s"
    healthy_deadline  = "10m"
    progress_deadline = "20m"
    auto_revert       = true
    auto_promote      = true
    canary            = 1
    stagger           = "45s"
  }

  migrate {
    max_parallel     = 3
    health_check     = "task_states"
    min_healthy_time = "20s"
    healthy_deadline = "6m"
  }

  reschedule {
    attempts       = 5
    interval       = "1h"
    delay          = "10s"
    delay_function = "fibonacci"
    max_delay      = "2h"
    unlimited      = false
  }

  vault {
    policies    = ["job-default"]
    change_mode = "signal"
    change_signal = "SIGHUP"
  }

  group "api" {
    task "server" {
      driver = "docker"

      config {
        image = "example/api:1.0"
      }
    }

    task "helper" {
      driver = "exec"

      config {
        command = "/usr/bin/helper"
      }

      vault {
        policies = ["helper"]
      }
    }
  }
}
