package server

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestNodeClientAllocsAnswersServerChangesOfItsNodeOnly checks the
// clients' allocation long poll: it answers when the servers change one of
// the node's allocations, and neither for the client's own status update
// nor for a change on another node.
func TestNodeClientAllocsAnswersServerChangesOfItsNodeOnly(t *testing.T) {
	stop := func(t *testing.T, s *Server, a *api.Allocation) {
		stopped := *a
		stopped.DesiredStatus = structs.AllocDesiredStatusStop
		stopped.Job = nil
		req := &structs.ApplyPlanResultsRequest{EvalID: a.EvalID, Stopped: []*api.Allocation{&stopped}, Time: time.Now().UnixNano()}
		if _, err := s.raftApply(structs.ApplyPlanResultsRequestType, req); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		// change acts on the allocation of the watched node (own) or on
		// the other node's (other).
		change func(t *testing.T, s *Server, own, other *api.Allocation)
		want   bool
	}{
		{name: "the servers stop the node's allocation", want: true,
			change: func(t *testing.T, s *Server, own, _ *api.Allocation) { stop(t, s, own) }},
		{name: "the servers stop another node's allocation", want: false,
			change: func(t *testing.T, s *Server, _, other *api.Allocation) { stop(t, s, other) }},
		{name: "the client reports its allocation running", want: false,
			change: func(t *testing.T, s *Server, own, _ *api.Allocation) {
				update := &api.Allocation{ID: own.ID, ClientStatus: structs.AllocClientStatusRunning}
				if err := s.UpdateAllocations([]*api.Allocation{update}); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Hour)
			for _, id := range []string{"n1", "n2"} {
				if _, err := s.raftApply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: testNode(id, 1000)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 2, 600)}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "an allocation on each node", func() bool { return len(liveAllocs(t, s, "web")) == 2 })
			byNode := map[string]*api.Allocation{}
			for _, a := range liveAllocs(t, s, "web") {
				byNode[a.NodeID] = a
			}
			_, index, err := s.NodeClientAllocs(context.Background(), "n1", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			const wait = 1500 * time.Millisecond
			type answer struct {
				allocs map[string]uint64
				index  uint64
				err    error
			}
			done := make(chan answer, 1)
			go func() {
				allocs, next, err := s.NodeClientAllocs(context.Background(), "n1", index, wait)
				done <- answer{allocs, next, err}
			}()
			time.Sleep(100 * time.Millisecond)
			tc.change(t, s, byNode["n1"], byNode["n2"])
			got := <-done
			if got.err != nil {
				t.Fatal(got.err)
			}
			if woke := got.index > index; woke != tc.want {
				t.Fatalf("poll at %d answered at %d: woke = %v, want %v", index, got.index, woke, tc.want)
			}
			stored, err := s.State().Snapshot().AllocByID(byNode["n1"].ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.allocs[stored.ID] != stored.AllocModifyIndex {
				t.Fatalf("listed index %d, want the allocation's AllocModifyIndex %d", got.allocs[stored.ID], stored.AllocModifyIndex)
			}
		})
	}
}
