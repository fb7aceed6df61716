package command

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func TestFormatJobDiff(t *testing.T) {
	edited := &api.JobDiff{
		Type: "Edited", ID: "example",
		Fields: []*api.FieldDiff{{Type: "Edited", Name: "Priority", Old: "50", New: "60"}},
		TaskGroups: []*api.TaskGroupDiff{{
			Type: "Edited", Name: "cache",
			Updates: map[string]uint64{"create/destroy update": 1, "ignore": 2},
			Fields:  []*api.FieldDiff{{Type: "Edited", Name: "Count", Old: "1", New: "3", Annotations: []string{"forces create"}}},
			Tasks: []*api.TaskDiff{{
				Type: "Edited", Name: "redis", Annotations: []string{"forces create/destroy update"},
				Objects: []*api.ObjectDiff{{
					Type: "Edited", Name: "Config",
					Fields: []*api.FieldDiff{
						{Type: "Edited", Name: "image", Old: "redis:6", New: "redis:7"},
						{Type: "None", Name: "ports[0]", Old: "db", New: "db"},
					},
				}},
			}},
		}},
	}
	cases := []struct {
		name    string
		diff    *api.JobDiff
		verbose bool
		want    string
	}{
		{
			name: "new job shows names only",
			diff: &api.JobDiff{Type: "Added", ID: "web",
				Fields: []*api.FieldDiff{{Type: "Added", Name: "Priority", New: "50"}},
				TaskGroups: []*api.TaskGroupDiff{{Type: "Added", Name: "g", Updates: map[string]uint64{"create": 1},
					Tasks: []*api.TaskDiff{{Type: "Added", Name: "t", Annotations: []string{"forces create"},
						Fields: []*api.FieldDiff{{Type: "Added", Name: "Driver", New: "docker"}}}}}}},
			want: "+ Job: \"web\"\n+ Task Group: \"g\" (1 create)\n  + Task: \"t\" (forces create)\n\n",
		},
		{
			name: "new job verbose shows fields",
			diff: &api.JobDiff{Type: "Added", ID: "web",
				Fields: []*api.FieldDiff{{Type: "Added", Name: "Priority", New: "50"}},
				TaskGroups: []*api.TaskGroupDiff{{Type: "Added", Name: "g",
					Tasks: []*api.TaskDiff{{Type: "Added", Name: "t",
						Fields: []*api.FieldDiff{{Type: "Added", Name: "Driver", New: "docker"}}}}}}},
			verbose: true,
			want:    "+ Job: \"web\"\n+ Priority: \"50\"\n+ Task Group: \"g\"\n  + Task: \"t\"\n    + Driver: \"docker\"\n\n",
		},
		{
			name: "edited job aligns markers and nests objects",
			diff: edited,
			want: `+/- Job: "example"
+/- Priority: "50" => "60"
+/- Task Group: "cache" (1 create/destroy update, 2 ignore)
  +/- Count: "1" => "3" (forces create)
  +/- Task: "redis" (forces create/destroy update)
    +/- Config {
      +/- image:    "redis:6" => "redis:7"
          ports[0]: "db"
        }

`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatJobDiff(tc.diff, tc.verbose); got != tc.want {
				t.Errorf("formatJobDiff:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}

func TestFormatDryRun(t *testing.T) {
	service := &api.Job{Type: ptr("service")}
	cases := []struct {
		name string
		resp *api.JobPlanResponse
		job  *api.Job
		want string
		code int
	}{
		{
			name: "all placed, nothing changes",
			resp: &api.JobPlanResponse{Annotations: &api.PlanAnnotations{DesiredTGUpdates: map[string]*api.DesiredUpdates{"g": {Ignore: 1}}}},
			job:  service,
			want: "- All tasks successfully allocated.",
		},
		{
			name: "placement failure",
			resp: &api.JobPlanResponse{
				FailedTGAllocs: map[string]*api.AllocationMetric{"cache": {NodesEvaluated: 1, NodesExhausted: 1,
					DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 2}},
				Annotations: &api.PlanAnnotations{DesiredTGUpdates: map[string]*api.DesiredUpdates{"cache": {Place: 3}}},
			},
			job: service,
			want: "- WARNING: Failed to place all allocations.\n" +
				"  Task Group \"cache\" (failed to place 3 allocations):\n" +
				"    * Resources exhausted on 1 nodes\n" +
				"    * Dimension \"memory\" exhausted on 1 nodes",
			code: 1,
		},
		{
			name: "system job failure wording",
			resp: &api.JobPlanResponse{FailedTGAllocs: map[string]*api.AllocationMetric{"g": {NodesEvaluated: 0}}},
			job:  &api.Job{Type: ptr("system")},
			want: "- WARNING: Failed to place allocations on all nodes.\n" +
				"  Task Group \"g\" (failed to place 1 allocation):\n" +
				"    * No nodes were eligible for evaluation",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatDryRun(tc.resp, tc.job); got != tc.want {
				t.Errorf("formatDryRun:\n%s\nwant:\n%s", got, tc.want)
			}
			if got := planExitCode(tc.resp); got != tc.code {
				t.Errorf("planExitCode = %d, want %d", got, tc.code)
			}
		})
	}
}

func TestFormatJobVersions(t *testing.T) {
	versions := []*api.Job{
		{Version: ptr(uint64(1)), Stable: ptr(false), SubmitTime: ptr(testNow.UnixNano())},
		{Version: ptr(uint64(0)), Stable: ptr(true), SubmitTime: ptr(testNow.Add(-time.Hour).UnixNano())},
	}
	diffs := []*api.JobDiff{{Type: "Edited", ID: "example",
		Fields: []*api.FieldDiff{{Type: "Edited", Name: "Priority", Old: "50", New: "60"}}}}
	cases := []struct {
		name string
		view historyView
		want string
	}{
		{
			name: "versions newest first",
			view: historyView{version: -1},
			want: "Version     = 1\nStable      = false\nSubmit Date = 2026-11-25T08:00:00Z\n\n" +
				"Version     = 0\nStable      = true\nSubmit Date = 2026-11-25T07:00:00Z",
		},
		{
			name: "one version with its diff",
			view: historyView{diff: true, version: 1},
			want: "Version     = 1\nStable      = false\nSubmit Date = 2026-11-25T08:00:00Z\nDiff        =\n" +
				"+/- Job: \"example\"\n+/- Priority: \"50\" => \"60\"",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := formatJobVersions(versions, diffs, tc.view)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("formatJobVersions:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
	if _, err := formatJobVersions(versions, diffs, historyView{version: 7}); err == nil {
		t.Error("formatJobVersions of a missing version: no error")
	}
}
