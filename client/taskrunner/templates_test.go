package taskrunner

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/structs"
)

func TestTemplatesAreRendered(t *testing.T) {
	cases := []struct {
		name       string
		templates  []*api.Template
		wantEvent  string
		wantStdout string
		wantDetail string
	}{
		{
			name: "file and env template reach the task",
			templates: []*api.Template{
				{EmbeddedTmpl: ptrTo(`task={{ env "NOMAD_TASK_NAME" }}`), DestPath: ptrTo("${NOMAD_TASK_DIR}/out.txt")},
				{EmbeddedTmpl: ptrTo(`MSG={{ "hi" | toUpper }}`), DestPath: ptrTo("secrets/vars.env"), Envvars: ptrTo(true)},
			},
			wantEvent:  api.TaskTerminated,
			wantStdout: "task=web msg=HI",
		},
		{
			name:       "a render error fails setup",
			templates:  []*api.Template{{EmbeddedTmpl: ptrTo(`{{ parseInt "x" }}`), DestPath: ptrTo("local/out.txt")}},
			wantEvent:  api.TaskSetupFailure,
			wantDetail: "Template failed:",
		},
		{
			name:       "a destination outside the alloc dir is refused",
			templates:  []*api.Template{{EmbeddedTmpl: ptrTo("x"), DestPath: ptrTo("../../../escape")}},
			wantEvent:  api.TaskSetupFailure,
			wantDetail: "escapes the allocation directory",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := clienttest.ShellTask("web", `echo "$(cat "$NOMAD_TASK_DIR/out.txt") msg=$MSG"`)
			task.Templates = tc.templates
			alloc := clienttest.Alloc("node1", structs.JobTypeBatch, task)
			clienttest.Restart(alloc, 0, time.Hour, 0, "fail")
			tr, ad := runToEnd(t, alloc, task)
			ev := findEvent(tr.State().Events, tc.wantEvent)
			if ev == nil {
				t.Fatalf("events lack %q: %+v", tc.wantEvent, tr.State().Events)
			}
			if !strings.Contains(ev.DisplayMessage, tc.wantDetail) {
				t.Fatalf("event message %q lacks %q", ev.DisplayMessage, tc.wantDetail)
			}
			if tc.wantStdout == "" {
				return
			}
			got, err := os.ReadFile(ad.LogBase("web", "stdout") + ".0")
			if err != nil || strings.TrimSpace(string(got)) != tc.wantStdout {
				t.Fatalf("stdout = %q, %v; want %q", got, err, tc.wantStdout)
			}
		})
	}
}

func findEvent(events []*api.TaskEvent, typ string) *api.TaskEvent {
	for _, e := range events {
		if e.Type == typ {
			return e
		}
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }
