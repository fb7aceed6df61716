package state

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestNodeDrainRecordsLastDrain follows a node's LastDrain through the
// drain requests: a start, an update that keeps the start, and an end by
// the drainer (complete) or by the user (canceled).
func TestNodeDrainRecordsLastDrain(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name     string
		complete bool
		want     api.DrainStatus
	}{
		{name: "ended by the drainer", complete: true, want: api.DrainStatusComplete},
		{name: "cancelled by the user", want: api.DrainStatusCanceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			if err := s.NodeRegister(5, &structs.NodeRegisterRequest{Node: &api.Node{ID: "n1"}}); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				req    *structs.NodeDrainRequest
				status api.DrainStatus
			}{
				{&structs.NodeDrainRequest{NodeID: "n1", DrainStrategy: &api.DrainStrategy{StartedAt: start},
					Meta: map[string]string{"why": "upgrade"}, Time: start.UnixNano()}, api.DrainStatusDraining},
				{&structs.NodeDrainRequest{NodeID: "n1", DrainStrategy: &api.DrainStrategy{StartedAt: start.Add(time.Minute)},
					Time: start.Add(time.Minute).UnixNano()}, api.DrainStatusDraining},
				{&structs.NodeDrainRequest{NodeID: "n1", Complete: tc.complete, Time: start.Add(2 * time.Minute).UnixNano()}, tc.want},
			}
			for i, st := range steps {
				if err := s.NodeDrain(uint64(6+i), st.req); err != nil {
					t.Fatal(err)
				}
				n, err := s.Snapshot().NodeByID("n1")
				if err != nil {
					t.Fatal(err)
				}
				d := n.LastDrain
				if d == nil || d.Status != st.status || !d.StartedAt.Equal(start) || d.Meta["why"] != "upgrade" ||
					!d.UpdatedAt.Equal(time.Unix(0, st.req.Time).UTC()) {
					t.Fatalf("step %d: LastDrain = %+v, want %s since %s with its meta", i, d, st.status, start)
				}
			}
		})
	}
}
