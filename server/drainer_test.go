package server

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestNodeDrainCompletes drains a node and checks that the drainer ends
// the drain once nothing is left to migrate, recording it in LastDrain.
func TestNodeDrainCompletes(t *testing.T) {
	cases := []struct {
		name       string
		withAllocs bool
	}{
		{name: "empty node completes at once"},
		{name: "allocations are migrated first", withAllocs: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Minute)
			for _, id := range []string{"n1", "n2"} {
				if _, err := s.RegisterNode(testNode(id, 4096)); err != nil {
					t.Fatal(err)
				}
			}
			if tc.withAllocs {
				if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 4, 128)}); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "allocations on n1", func() bool {
					allocs, _ := s.State().Snapshot().AllocsByNode("n1")
					return len(allocs) > 0
				})
			}
			meta := map[string]string{"reason": "kernel upgrade"}
			started := time.Now()
			strategy := &api.DrainStrategy{DrainSpec: api.DrainSpec{Deadline: time.Hour}}
			if _, err := s.UpdateDrain("", "n1", strategy, false, meta); err != nil {
				t.Fatal(err)
			}
			var node *api.Node
			waitFor(t, "the drain to end", func() bool {
				node, _ = s.State().Snapshot().NodeByID("n1")
				return node.DrainStrategy == nil
			})
			d := node.LastDrain
			if d == nil || d.Status != api.DrainStatusComplete || d.Meta["reason"] != "kernel upgrade" || d.StartedAt.Before(started.Add(-time.Second)) || d.UpdatedAt.Before(d.StartedAt) {
				t.Fatalf("LastDrain = %+v, want a complete drain with its meta", d)
			}
			if node.SchedulingEligibility != structs.NodeSchedulingIneligible {
				t.Fatalf("a drained node is %s, want ineligible", node.SchedulingEligibility)
			}
			if tc.withAllocs {
				allocs, _ := s.State().Snapshot().AllocsByNode("n1")
				for _, a := range allocs {
					if !structs.AllocTerminal(a) {
						t.Fatalf("allocation %s still runs on the drained node", a.ID)
					}
				}
			}
		})
	}
}
