package e2e

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// templateJob is a batch job whose task prints a file and a variable that
// its templates render.
const templateJob = `
job "tmpl" {
  type = "batch"
  group "app" {
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat local/app.conf; echo \"level=$LOG_LEVEL\""]
      }
      template {
        data        = <<EOT
job=[[ env "NOMAD_JOB_NAME" ]] task=[[ env "NOMAD_TASK_NAME" | toUpper ]]
EOT
        destination     = "local/app.conf"
        left_delimiter  = "[["
        right_delimiter = "]]"
        perms           = "0600"
      }
      template {
        data        = "LOG_LEVEL={{ \"DEBUG\" | toLower }}"
        destination = "local/app.env"
        env         = true
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

func TestTemplateRenderedIntoTask(t *testing.T) {
	a := startDevAgent(t, "")
	a.runJobFile(t, templateJob)
	alloc := a.firstAlloc(t, "tmpl")
	alloc = a.waitAllocStatus(t, alloc.ID, "complete", 30*time.Second)

	cases := []struct {
		name string
		path string
		want string
	}{
		{"rendered file through the fs API", "main/local/app.conf", "job=tmpl task=MAIN\n"},
		{"env template file", "main/local/app.env", "LOG_LEVEL=debug"},
		{"task output in its log", "alloc/logs/main.stdout.0", "job=tmpl task=MAIN\nlevel=debug\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := catFile(t, a, alloc, tc.path); got != tc.want {
				t.Fatalf("%s = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestTemplateRenderFailureFailsTask(t *testing.T) {
	a := startDevAgent(t, "")
	job := shellJob("badtmpl", "batch", 1, "true")
	job.TaskGroups[0].Tasks[0].Templates = []*api.Template{{
		EmbeddedTmpl: ptr(`{{ parseInt "not a number" }}`),
		DestPath:     ptr("local/out"),
	}}
	noRestarts(job.TaskGroups[0])
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register: %v", err)
	}
	alloc := a.firstAlloc(t, "badtmpl")
	alloc = a.waitAllocStatus(t, alloc.ID, "failed", 30*time.Second)
	for _, e := range alloc.TaskStates["main"].Events {
		if e.Type == api.TaskSetupFailure && strings.Contains(e.DisplayMessage, "Template failed:") {
			return
		}
	}
	t.Fatalf("no template setup failure event in %+v", alloc.TaskStates["main"].Events)
}

// catFile reads a file of the allocation through the fs API.
func catFile(t *testing.T, a *devAgent, alloc *api.Allocation, path string) string {
	t.Helper()
	r, err := a.client.AllocFS().Cat(alloc, path, nil)
	if err != nil {
		t.Fatalf("cat %s: %v", path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("cat %s: %v", path, err)
	}
	return string(b)
}
