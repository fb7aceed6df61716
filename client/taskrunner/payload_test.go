package taskrunner

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/structs"
)

func TestDispatchPayloadIsWritten(t *testing.T) {
	cases := []struct {
		name      string
		file      string
		payload   string
		wantEvent string
		wantFile  string
	}{
		{"payload in the named file", "input/params.json", `{"n": 1}`, api.TaskTerminated, "local/input/params.json"},
		{"no payload, nothing written", "params.json", "", api.TaskTerminated, ""},
		{"a file outside local/ is refused", "../../escape", "x", api.TaskSetupFailure, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := clienttest.ShellTask("web", "true")
			task.DispatchPayload = &api.DispatchPayloadConfig{File: tc.file}
			alloc := clienttest.Alloc("node1", structs.JobTypeBatch, task)
			alloc.Job.Payload = []byte(tc.payload)
			clienttest.Restart(alloc, 0, time.Hour, 0, "fail")
			tr, ad := runToEnd(t, alloc, task)
			var types []string
			found := false
			for _, e := range tr.State().Events {
				types = append(types, e.Type)
				found = found || e.Type == tc.wantEvent
			}
			if !found {
				t.Fatalf("events %v lack %q", types, tc.wantEvent)
			}
			if tc.wantFile == "" {
				return
			}
			got, err := os.ReadFile(filepath.Join(ad.TaskDir("web").Dir, tc.wantFile))
			if err != nil || string(got) != tc.payload {
				t.Fatalf("payload file: %q, %v", got, err)
			}
		})
	}
}
