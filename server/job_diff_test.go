package server

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestJobDiffFlattensDriverConfig checks that a task's driver configuration
// is compared as Nomad compares it: one field per flattened path.
func TestJobDiffFlattensDriverConfig(t *testing.T) {
	job := func(config map[string]any) *api.Job {
		j := api.NewServiceJob("web", "web", "global", 50)
		j.AddTaskGroup(api.NewTaskGroup("app", 1).AddTask(&api.Task{Name: "main", Driver: "raw_exec", Config: config}))
		return j
	}
	base := map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo a"}, "port_map": map[string]any{"http": 80}}
	cases := []struct {
		name   string
		config map[string]any
		want   []api.FieldDiff
	}{
		{"one list element edited", map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo b"}, "port_map": map[string]any{"http": 80}},
			[]api.FieldDiff{{Type: "Edited", Name: "args[1]", Old: "echo a", New: "echo b"}}},
		{"list element added", map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo a", "x"}, "port_map": map[string]any{"http": 80}},
			[]api.FieldDiff{{Type: "Added", Name: "args[2]", New: "x"}}},
		{"nested map key removed", map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo a"}},
			[]api.FieldDiff{{Type: "Deleted", Name: "port_map.http", Old: "80"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := JobDiff(job(base), job(tc.config))
			if len(d.TaskGroups) != 1 || len(d.TaskGroups[0].Tasks) != 1 {
				t.Fatalf("diff = %+v", d)
			}
			objs := d.TaskGroups[0].Tasks[0].Objects
			if len(objs) != 1 || objs[0].Name != "Config" || objs[0].Type != "Edited" || len(objs[0].Objects) != 0 {
				t.Fatalf("task objects = %+v", objs)
			}
			got := objs[0].Fields
			if len(got) != len(tc.want) {
				t.Fatalf("config fields = %d, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				if g := got[i]; g.Type != w.Type || g.Name != w.Name || g.Old != w.Old || g.New != w.New {
					t.Errorf("field %d = %+v, want %+v", i, *g, w)
				}
			}
		})
	}
}

// TestJobDiffShowsStop checks that stopping and starting a job shows in its
// diff, as Nomad's shows the Stop field.
func TestJobDiffShowsStop(t *testing.T) {
	job := func(stop bool) *api.Job {
		j := api.NewServiceJob("web", "web", "global", 50)
		j.Stop = &stop
		return j
	}
	cases := []struct {
		name     string
		old, new bool
		want     string
	}{
		{"stopped", false, true, "Edited Stop false => true"},
		{"started", true, false, "Edited Stop true => false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := JobDiff(job(tc.old), job(tc.new))
			if d.Type != "Edited" || len(d.Fields) != 1 {
				t.Fatalf("diff = %+v", d)
			}
			f := d.Fields[0]
			if got := f.Type + " " + f.Name + " " + f.Old + " => " + f.New; got != tc.want {
				t.Errorf("field %q, want %q", got, tc.want)
			}
		})
	}
}
