package state

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func TestNodeAllocsChangedOnServerChangesOnly(t *testing.T) {
	cases := []struct {
		name string
		// write changes the store at index 12, where n1 runs a1 and n2
		// runs a2 of job web.
		write func(s *Store) error
		// want are the nodes whose channel the write closes.
		want map[string]bool
	}{
		{name: "a placement wakes its node only", want: map[string]bool{"n1": true},
			write: func(s *Store) error {
				return s.ApplyPlanResults(12, &structs.ApplyPlanResultsRequest{Job: testJob("web", 3), Time: 3,
					Allocs: []*api.Allocation{{ID: "a3", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", DesiredStatus: "run", ClientStatus: "pending"}}})
			}},
		{name: "a stop wakes its node only", want: map[string]bool{"n2": true},
			write: func(s *Store) error {
				return s.ApplyPlanResults(12, &structs.ApplyPlanResultsRequest{Job: testJob("web", 3), Time: 3,
					Stopped: []*api.Allocation{{ID: "a2", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n2", DesiredStatus: "stop"}}})
			}},
		{name: "a client's status report wakes nothing", want: map[string]bool{},
			write: func(s *Store) error {
				return s.AllocClientUpdate(12, &structs.AllocClientUpdateRequest{Time: 3,
					Allocs: []*api.Allocation{{ID: "a1", ClientStatus: "running"}}})
			}},
		{name: "a purge wakes the nodes of the job", want: map[string]bool{"n1": true, "n2": true},
			write: func(s *Store) error {
				return s.JobDeregister(12, &structs.JobDeregisterRequest{Namespace: "default", JobID: "web", Purge: true, Time: 3})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			job := testJob("web", 2)
			if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
				t.Fatal(err)
			}
			var placed []*api.Allocation
			for _, n := range []string{"1", "2"} {
				placed = append(placed, &api.Allocation{ID: "a" + n, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n" + n, DesiredStatus: "run", ClientStatus: "pending"})
			}
			if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: job, Allocs: placed, Time: 2}); err != nil {
				t.Fatal(err)
			}
			chans := map[string]<-chan struct{}{}
			for _, n := range []string{"n1", "n2", "n3"} {
				ch, release := s.NodeAllocsChanged(n)
				defer release()
				chans[n] = ch
			}
			if err := tc.write(s); err != nil {
				t.Fatal(err)
			}
			for n, ch := range chans {
				closed := false
				select {
				case <-ch:
					closed = true
				default:
				}
				if closed != tc.want[n] {
					t.Errorf("node %s woken = %v, want %v", n, closed, tc.want[n])
				}
			}
		})
	}
}

// TestNodeAllocsWatchKeepsNoIdleEntries checks that the watch keeps an
// entry for a node only while someone waits on it: a node that stops
// polling (removed, garbage collected, its wait timed out) leaves nothing.
func TestNodeAllocsWatchKeepsNoIdleEntries(t *testing.T) {
	place := func(s *Store, index uint64, node string) error {
		return s.ApplyPlanResults(index, &structs.ApplyPlanResultsRequest{Job: testJob("web", 3), Time: 3,
			Allocs: []*api.Allocation{{ID: "a-" + node, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: node, DesiredStatus: "run", ClientStatus: "pending"}}})
	}
	cases := []struct {
		name string
		// run waits on nodes of s and ends the waits; it returns the
		// nodes whose entries must still be there.
		run func(t *testing.T, s *Store) []string
	}{
		{"a released wait leaves nothing", func(t *testing.T, s *Store) []string {
			_, release := s.NodeAllocsChanged("n1")
			release()
			return nil
		}},
		{"a wait woken by a change leaves nothing", func(t *testing.T, s *Store) []string {
			ch, release := s.NodeAllocsChanged("n1")
			if err := place(s, 20, "n1"); err != nil {
				t.Fatal(err)
			}
			<-ch
			release()
			return nil
		}},
		{"a removed node's wait leaves nothing", func(t *testing.T, s *Store) []string {
			_, release := s.NodeAllocsChanged("n1")
			if err := s.GC(20, &structs.GCRequest{NodeIDs: []string{"n1"}}); err != nil {
				t.Fatal(err)
			}
			release()
			return nil
		}},
		{"the entry lasts while another waiter waits", func(t *testing.T, s *Store) []string {
			ch1, release1 := s.NodeAllocsChanged("n1")
			ch2, release2 := s.NodeAllocsChanged("n1")
			if ch1 != ch2 {
				t.Error("two waiters on one node got different channels")
			}
			_, release3 := s.NodeAllocsChanged("n2")
			release1()
			release3()
			t.Cleanup(release2)
			return []string{"n1"}
		}},
		{"a waiter that outlives a change keeps only the new entry", func(t *testing.T, s *Store) []string {
			_, old := s.NodeAllocsChanged("n1")
			if err := place(s, 20, "n1"); err != nil {
				t.Fatal(err)
			}
			_, current := s.NodeAllocsChanged("n1")
			old()
			t.Cleanup(current)
			return []string{"n1"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 3), Time: 1}); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"n1", "n2"} {
				if err := s.NodeRegister(11, &structs.NodeRegisterRequest{Node: &api.Node{ID: n, Status: "ready"}, Time: 1}); err != nil {
					t.Fatal(err)
				}
			}
			want := tc.run(t, s)
			s.nodeAllocs.mu.Lock()
			defer s.nodeAllocs.mu.Unlock()
			if len(s.nodeAllocs.waits) != len(want) {
				t.Errorf("entries for %d nodes, want %v", len(s.nodeAllocs.waits), want)
			}
			for _, n := range want {
				if s.nodeAllocs.waits[n] == nil {
					t.Errorf("no entry for node %s, which is waited on", n)
				}
			}
		})
	}
}

// TestNodeAllocChanges checks the log of a node's allocation changes that
// answers the polls of a client asking for changes only.
func TestNodeAllocChanges(t *testing.T) {
	place := func(s *Store, index uint64, ids ...string) error {
		var allocs []*api.Allocation
		for _, id := range ids {
			allocs = append(allocs, &api.Allocation{ID: id, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", DesiredStatus: "run", ClientStatus: "pending"})
		}
		return s.ApplyPlanResults(index, &structs.ApplyPlanResultsRequest{Job: testJob("web", 3), Allocs: allocs, Time: 3})
	}
	cases := []struct {
		name string
		// run changes s after the first call for n1 (at index 11, where
		// the store's last allocation change was) and returns the index
		// the second call asks from.
		run func(t *testing.T, s *Store) uint64
		// want are the changes the second call returns; ok is false
		// when it cannot tell them.
		want []NodeAllocChange
		ok   bool
	}{
		{name: "nothing changed", ok: true,
			run: func(*testing.T, *Store) uint64 { return 11 }},
		{name: "a placement and a removal in order", ok: true,
			want: []NodeAllocChange{{ID: "a2", Index: 12}, {ID: "a1", Index: 13, Removed: true}},
			run: func(t *testing.T, s *Store) uint64 {
				if err := place(s, 12, "a2"); err != nil {
					t.Fatal(err)
				}
				if err := s.GC(13, &structs.GCRequest{AllocIDs: []string{"a1"}}); err != nil {
					t.Fatal(err)
				}
				return 11
			}},
		{name: "changes the client saw are left out", ok: true,
			want: []NodeAllocChange{{ID: "a3", Index: 13}},
			run: func(t *testing.T, s *Store) uint64 {
				for i, id := range []string{"a2", "a3"} {
					if err := place(s, uint64(12+i), id); err != nil {
						t.Fatal(err)
					}
				}
				return 12
			}},
		{name: "an index before the log's start cannot be told",
			run: func(*testing.T, *Store) uint64 { return 10 }},
		{name: "index 0 cannot be told",
			run: func(*testing.T, *Store) uint64 { return 0 }},
		{name: "a removed node's log is dropped",
			run: func(t *testing.T, s *Store) uint64 {
				if err := s.GC(12, &structs.GCRequest{NodeIDs: []string{"n1"}}); err != nil {
					t.Fatal(err)
				}
				return 11
			}},
		{name: "a log past its bound is dropped",
			run: func(t *testing.T, s *Store) uint64 {
				ids := make([]string, maxNodeAllocsLog+1)
				for i := range ids {
					ids[i] = "b" + strconv.Itoa(i)
				}
				if err := place(s, 12, ids...); err != nil {
					t.Fatal(err)
				}
				return 11
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 3), Time: 1}); err != nil {
				t.Fatal(err)
			}
			if err := place(s, 11, "a1"); err != nil {
				t.Fatal(err)
			}
			if _, floor, ok := s.NodeAllocChanges("n1", 11); ok || floor != 11 {
				t.Fatalf("first call: ok %v, floor %d; want false and 11", ok, floor)
			}
			from := tc.run(t, s)
			got, _, ok := s.NodeAllocChanges("n1", from)
			if ok != tc.ok || !slices.Equal(got, tc.want) {
				t.Fatalf("changes after %d: %v (ok %v), want %v (ok %v)", from, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestNodeAllocChangesAfterRestore checks that a restored store, whose
// allocations no write notified, starts a node's log at its latest index:
// a client that saw an older index gets a complete listing, not the
// changes since the restore only.
func TestNodeAllocChangesAfterRestore(t *testing.T) {
	s := mustStore(t)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 1), Time: 1}); err != nil {
		t.Fatal(err)
	}
	a := &api.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", DesiredStatus: "run", ClientStatus: "pending"}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: testJob("web", 1), Allocs: []*api.Allocation{a}, Time: 2}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// The first call starts the node's log; the second, from the same
	// index, must find it before the log's start too.
	for call := 1; call <= 2; call++ {
		if changes, floor, ok := restored.NodeAllocChanges("n1", 10); ok || floor < 11 {
			t.Fatalf("call %d for changes after 10 on the restored store: %v (ok %v, floor %d), want a listing from 11 on", call, changes, ok, floor)
		}
	}
}
