package scheduler

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestStickyDiskStaysOnNode checks that a destructive update of a group
// with a sticky ephemeral disk replaces each allocation on its node, with
// PreviousAllocation naming the one it replaces, and that without room
// there the replacement goes elsewhere.
func TestStickyDiskStaysOnNode(t *testing.T) {
	cases := []struct {
		name     string
		sticky   bool
		fillNode bool // another job takes most of the node's memory and the update asks for more
		sameNode bool
	}{
		{"sticky stays", true, false, true},
		{"sticky moves when the node is full", true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(makeNodes(20, nodeSpec{memoryMB: 1024})...)
			job := testJob("db", "service", 1)
			job.TaskGroups[0].EphemeralDisk = &api.EphemeralDisk{Sticky: &tc.sticky, SizeMB: new(300)}
			job.TaskGroups[0].Update = nil
			h.runJob(job)
			first := planAllocs(h.lastPlan())[0]
			if tc.fillNode {
				filler := testJob("filler", "service", 1)
				filler.TaskGroups[0].Tasks[0].Resources.MemoryMB = new(700)
				filler.Constraints = []*api.Constraint{{LTarget: "${node.unique.id}", Operand: "=", RTarget: first.NodeID}}
				h.runJob(filler)
			}
			next := nextVersion(job, func(j *api.Job) {
				j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true"
				if tc.fillNode {
					j.TaskGroups[0].Tasks[0].Resources.MemoryMB = new(512)
				}
			})
			h.runJob(next)
			placed := planAllocs(h.lastPlan())
			if len(placed) != 1 {
				t.Fatalf("placed %d, want the replacement", len(placed))
			}
			if placed[0].PreviousAllocation != first.ID {
				t.Fatalf("PreviousAllocation = %q, want %q", placed[0].PreviousAllocation, first.ID)
			}
			if same := placed[0].NodeID == first.NodeID; same != tc.sameNode {
				t.Fatalf("replacement on the same node = %v, want %v", same, tc.sameNode)
			}
		})
	}
}
