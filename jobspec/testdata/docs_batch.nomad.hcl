# A batch job after the periodic block page of Nomad's documentation.
job "docs" {
  datacenters = ["default"]
  type        = "batch"

  periodic {
    crons            = ["*/15 * * * * *"]
    prohibit_overlap = true
  }

  group "example" {
    task "date" {
      driver = "raw_exec"

      config {
        command = "date"
      }
    }
  }
}
