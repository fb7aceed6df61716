# A system job with multiregion deployment.
job "node-exporter" {
  type     = "system"
  priority = 90

  multiregion {
    strategy {
      max_parallel = 1
      on_failure   = "fail_all"
    }

    region "west" {
      count       = 2
      datacenters = ["west-1"]
      node_pool   = "edge"
      meta {
        my-key = "my-value-west"
      }
    }

    region "east" {
      count       = 1
      datacenters = ["east-1"]
    }
  }

  group "exporter" {
    task "exporter" {
      driver = "raw_exec"

      config {
        command = "node_exporter"
      }

      resources {
        memory = 32
        cores  = 1
      }
    }
  }
}
