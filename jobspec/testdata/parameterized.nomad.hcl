# A dispatchable job with a payload.
job "video-encode" {
  type = "batch"

  parameterized {
    payload       = "required"
    meta_required = ["dispatcher_email"]
    meta_optional = ["pager_email"]
  }

  group "encode" {
    task "ffmpeg" {
      driver = "exec"

      config {
        command = "ffmpeg-wrapper"
        args    = ["${NOMAD_TASK_DIR}/config.json"]
      }

      dispatch_payload {
        file = "config.json"
      }
    }
  }
}
