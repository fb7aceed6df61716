package server

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestRegisterFillsDefaultOperator checks that a job sent with a
// constraint or affinity that names no operator (an API client's JSON,
// not the HCL parser) is stored, and planned, with "=".
func TestRegisterFillsDefaultOperator(t *testing.T) {
	s := testServer(t, time.Minute)
	withBareOperands := func() *api.Job {
		job := testJob("web", 1, 128)
		job.Constraints = []*api.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux"}}
		job.TaskGroups[0].Affinities = []*api.Affinity{{LTarget: "${node.datacenter}", RTarget: "dc1", Weight: ptr(int8(50))}}
		job.TaskGroups[0].Tasks[0].Constraints = []*api.Constraint{{LTarget: "${attr.os.name}", RTarget: "x", Operand: "!="}}
		return job
	}
	cases := []struct {
		name string
		job  func() *api.Job
	}{
		{"register", func() *api.Job {
			mustRegister(t, s, withBareOperands())
			job, _ := s.State().Snapshot().JobByID("default", "web")
			return job
		}},
		{"plan", func() *api.Job {
			job := withBareOperands()
			if _, err := s.PlanJob(job, true); err != nil {
				t.Fatal(err)
			}
			return job
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := tc.job()
			got := []string{job.Constraints[0].Operand, job.TaskGroups[0].Affinities[0].Operand, job.TaskGroups[0].Tasks[0].Constraints[0].Operand}
			want := []string{"=", "=", "!="}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("operands = %q, want %q", got, want)
				}
			}
		})
	}
	// Planning the same job again shows no change to its constraints.
	plan, err := s.PlanJob(withBareOperands(), true)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Diff != nil && plan.Diff.Type != diffNone {
		t.Errorf("plan of the stored job reports a %s diff: %+v", plan.Diff.Type, plan.Diff.Objects)
	}
}
