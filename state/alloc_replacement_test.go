package state

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestReplacementLinksPreviousAllocation checks that placing a replacement
// records its ID on the allocation it replaces, whether the replaced one is
// stopped in the same plan, before or after it, or was already terminal,
// and that a later plan rewriting the replaced allocation keeps the link.
func TestReplacementLinksPreviousAllocation(t *testing.T) {
	alloc := func(id, prev, desired string) *api.Allocation {
		return &api.Allocation{ID: id, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
			DesiredStatus: desired, ClientStatus: "pending", PreviousAllocation: prev}
	}
	cases := []struct {
		name   string
		allocs []*api.Allocation
	}{
		{"replacement alone", []*api.Allocation{alloc("a2", "a1", "run")}},
		{"stop of the old one listed first", []*api.Allocation{alloc("a1", "", "stop"), alloc("a2", "a1", "run")}},
		{"stop of the old one listed after", []*api.Allocation{alloc("a2", "a1", "run"), alloc("a1", "", "stop")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			job := testJob("web", 1)
			if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
				t.Fatal(err)
			}
			if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*api.Allocation{alloc("a1", "", "run")}, Time: 2}); err != nil {
				t.Fatal(err)
			}
			if err := s.ApplyPlanResults(12, &structs.ApplyPlanResultsRequest{Job: job, Allocs: tc.allocs, Time: 3}); err != nil {
				t.Fatal(err)
			}
			// A later plan rewrites a1 without knowing its replacement.
			if err := s.ApplyPlanResults(13, &structs.ApplyPlanResultsRequest{Job: job, Stopped: []*api.Allocation{alloc("a1", "", "stop")}, Time: 4}); err != nil {
				t.Fatal(err)
			}
			prev, err := s.Snapshot().AllocByID("a1")
			if err != nil || prev == nil {
				t.Fatalf("a1: %v, %v", prev, err)
			}
			if prev.NextAllocation != "a2" {
				t.Errorf("a1 next allocation = %q, want a2", prev.NextAllocation)
			}
			next, err := s.Snapshot().AllocByID("a2")
			if err != nil || next.NextAllocation != "" {
				t.Errorf("a2 next allocation = %q, %v", next.NextAllocation, err)
			}
		})
	}
}
