package state

import (
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
				chans[n] = s.NodeAllocsChanged(n)
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
