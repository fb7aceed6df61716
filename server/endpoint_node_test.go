package server

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/rpcservers"
	"github.com/roam-project/roam/rpc"
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
			first, err := s.NodeClientAllocs(context.Background(), "n1", 0, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			index := first.Index
			const wait = 1500 * time.Millisecond
			type answer struct {
				allocs map[string]uint64
				index  uint64
				err    error
			}
			done := make(chan answer, 1)
			go func() {
				got, err := s.NodeClientAllocs(context.Background(), "n1", index, wait, false)
				if err != nil {
					done <- answer{err: err}
					return
				}
				done <- answer{got.Allocs, got.Index, nil}
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

// TestNodeClientAllocsAnswersChangesOnly checks the long poll of a client
// that asks for changes: its first answer lists every allocation of the
// node, and a poll from the index of an answer names only what the
// servers changed or removed after it.
func TestNodeClientAllocsAnswersChangesOnly(t *testing.T) {
	apply := func(t *testing.T, s *Server, typ structs.MessageType, req any) {
		t.Helper()
		if _, err := s.raftApply(typ, req); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		// change acts on the node's two allocations of job web; from is
		// the index the second poll asks from, given the first answer's.
		change func(t *testing.T, s *Server, allocs []*api.Allocation)
		from   func(first uint64) uint64
		// want: the answer names changes only, which allocations (by
		// position in allocs, -1 for a new one) and how many removed.
		changes bool
		listed  []int
		removed int
	}{
		{name: "a stop names the stopped allocation", changes: true, listed: []int{0},
			change: func(t *testing.T, s *Server, allocs []*api.Allocation) {
				stopped := *allocs[0]
				stopped.DesiredStatus, stopped.Job = structs.AllocDesiredStatusStop, nil
				apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{EvalID: stopped.EvalID, Stopped: []*api.Allocation{&stopped}, Time: 1})
			}},
		{name: "a removal names the removed allocation", changes: true, removed: 1,
			change: func(t *testing.T, s *Server, allocs []*api.Allocation) {
				apply(t, s, structs.GCRequestType, &structs.GCRequest{AllocIDs: []string{allocs[1].ID}, Time: 1})
			}},
		{name: "a placement names the new allocation", changes: true, listed: []int{-1},
			change: func(t *testing.T, s *Server, _ []*api.Allocation) {
				if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("api", 1, 100)}); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the allocation of api", func() bool { return len(liveAllocs(t, s, "api")) == 1 })
			}},
		{name: "no change answers nothing when the wait ends", changes: true,
			change: func(*testing.T, *Server, []*api.Allocation) {}},
		{name: "a poll from an older index lists every allocation", listed: []int{0, 1},
			change: func(*testing.T, *Server, []*api.Allocation) {},
			from:   func(uint64) uint64 { return 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Hour)
			apply(t, s, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: testNode("n1", 4000)})
			if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 2, 100)}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "two allocations", func() bool { return len(liveAllocs(t, s, "web")) == 2 })
			allocs := liveAllocs(t, s, "web")
			first, err := s.NodeClientAllocs(context.Background(), "n1", 0, 0, true)
			if err != nil {
				t.Fatal(err)
			}
			if first.Changes || len(first.Allocs) != 2 {
				t.Fatalf("first answer: changes %v, %d allocations, want a listing of 2", first.Changes, len(first.Allocs))
			}
			tc.change(t, s, allocs)
			from := first.Index
			if tc.from != nil {
				from = tc.from(from)
			}
			got, err := s.NodeClientAllocs(context.Background(), "n1", from, 200*time.Millisecond, true)
			if err != nil {
				t.Fatal(err)
			}
			if got.Changes != tc.changes || len(got.Removed) != tc.removed || len(got.Allocs) != len(tc.listed) {
				t.Fatalf("answer from %d: changes %v, allocs %v, removed %v; want changes %v, %d listed, %d removed",
					from, got.Changes, got.Allocs, got.Removed, tc.changes, len(tc.listed), tc.removed)
			}
			if tc.changes && len(got.Allocs) > 0 && (got.Changed == nil || len(got.Changed.Allocs) != len(got.Allocs)) {
				t.Fatalf("answer from %d names %d allocations but carries %+v", from, len(got.Allocs), got.Changed)
			}
			snap := s.State().Snapshot()
			for _, i := range tc.listed {
				if i < 0 {
					continue
				}
				stored, err := snap.AllocByID(allocs[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Allocs[stored.ID] != stored.AllocModifyIndex {
					t.Errorf("allocation %d listed at %d, want its AllocModifyIndex %d", i, got.Allocs[stored.ID], stored.AllocModifyIndex)
				}
			}
			if tc.removed > 0 && got.Removed[0] != allocs[1].ID {
				t.Errorf("removed %v, want %s", got.Removed, allocs[1].ID)
			}
			if tc.changes && len(tc.listed)+tc.removed == 0 && got.Index != from {
				t.Errorf("an empty answer at %d, want the index asked from, %d", got.Index, from)
			}
		})
	}
}

// TestNodeAllocationsOverRPCFollowChanges follows a node's allocations the
// way a remote client does, through rpcservers, whose polls after the
// first get changes only: the client's list stays whole through a
// placement, a stop and a removal.
func TestNodeAllocationsOverRPCFollowChanges(t *testing.T) {
	addr := freeAddr(t)
	s, err := New(Config{
		NodeName: "allocs.global", Region: "global", Datacenter: "dc1", RPCAddr: addr, NumSchedulers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	waitFor(t, "leadership", func() bool { return s.IsLeader() })
	remote, err := rpcservers.New([]string{addr}, rpc.DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	remote.Identify("n", "node-n-secret")
	if _, err := remote.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	var index uint64
	// poll answers the client's next poll and returns the allocations it
	// lists as "ID desired-status".
	poll := func(t *testing.T) []string {
		t.Helper()
		allocs, next, err := remote.NodeAllocations(context.Background(), "n", index, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		index = next
		var out []string
		for _, a := range allocs {
			out = append(out, a.ID+" "+a.DesiredStatus)
		}
		return out
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 2, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 2 })
	web := liveAllocs(t, s, "web")
	slices.SortFunc(web, func(a, b *api.Allocation) int { return strings.Compare(a.ID, b.ID) })
	steps := []struct {
		name   string
		change func(t *testing.T)
		want   []string
	}{
		{name: "the first poll lists both", change: func(*testing.T) {},
			want: []string{web[0].ID + " run", web[1].ID + " run"}},
		{name: "a stop shows", want: []string{web[0].ID + " stop", web[1].ID + " run"},
			change: func(t *testing.T) {
				stopped := *web[0]
				stopped.DesiredStatus, stopped.Job = structs.AllocDesiredStatusStop, nil
				if _, err := s.raftApply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{EvalID: stopped.EvalID, Stopped: []*api.Allocation{&stopped}, Time: 1}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "a removal shows", want: []string{web[1].ID + " run"},
			change: func(t *testing.T) {
				if _, err := s.raftApply(structs.GCRequestType, &structs.GCRequest{AllocIDs: []string{web[0].ID}, Time: 1}); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, step := range steps {
		step.change(t)
		got := poll(t)
		slices.Sort(got)
		if !slices.Equal(got, step.want) {
			t.Fatalf("%s: the client lists %v, want %v", step.name, got, step.want)
		}
	}
}
