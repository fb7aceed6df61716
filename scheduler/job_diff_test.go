package scheduler

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestDestructiveChange(t *testing.T) {
	cases := []struct {
		name        string
		change      func(j *api.Job)
		destructive bool
	}{
		{"nothing", func(*api.Job) {}, false},
		{"meta", func(j *api.Job) { j.TaskGroups[0].Tasks[0].Meta = map[string]string{"a": "b"} }, false},
		{"count", func(j *api.Job) { j.TaskGroups[0].Count = new(7) }, false},
		{"update stanza", func(j *api.Job) { j.TaskGroups[0].Update = &api.UpdateStrategy{MaxParallel: new(3)} }, false},
		{"config number decoded as float", func(j *api.Job) { j.TaskGroups[0].Tasks[0].Config["port"] = float64(80) }, false},
		{"config", func(j *api.Job) { j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true" }, true},
		{"env", func(j *api.Job) { j.TaskGroups[0].Tasks[0].Env = map[string]string{"A": "1"} }, true},
		{"driver", func(j *api.Job) { j.TaskGroups[0].Tasks[0].Driver = "exec" }, true},
		{"cpu", func(j *api.Job) { j.TaskGroups[0].Tasks[0].Resources.CPU = new(600) }, true},
		{"memory", func(j *api.Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB = new(512) }, true},
		{"artifact", func(j *api.Job) {
			j.TaskGroups[0].Tasks[0].Artifacts = []*api.TaskArtifact{{GetterSource: new("https://x")}}
		}, true},
		{"template", func(j *api.Job) {
			j.TaskGroups[0].Tasks[0].Templates = []*api.Template{{EmbeddedTmpl: new("x")}}
		}, true},
		{"identity", func(j *api.Job) {
			j.TaskGroups[0].Tasks[0].Identity = &api.WorkloadIdentity{Env: true}
		}, true},
		{"group network", func(j *api.Job) {
			j.TaskGroups[0].Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
		}, true},
		{"task added", func(j *api.Job) {
			j.TaskGroups[0].Tasks = append(j.TaskGroups[0].Tasks, api.NewTask("sidecar", "raw_exec"))
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := testJob("diff", "service", 1)
			old.TaskGroups[0].Tasks[0].Config["port"] = int64(80)
			next := cloneJob(old)
			next.TaskGroups[0].Tasks[0].Config["port"] = int64(80)
			tc.change(next)
			if got := destructiveChange(old, next, "web"); got != tc.destructive {
				t.Errorf("destructiveChange = %v, want %v", got, tc.destructive)
			}
		})
	}
}
