package server

import (
	"sync"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestBlockedEvalsReleaseOnCapacity(t *testing.T) {
	cases := []struct {
		name          string
		capacityAt    uint64 // a capacity change before the eval is blocked; 0 for none
		snapshotIndex uint64
		wantReleased  bool
	}{
		{"no capacity change: held", 0, 10, false},
		{"change seen by the scheduler: held", 8, 10, false},
		{"change after the scheduler's snapshot: released at once", 12, 10, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var released []string
			b := newBlockedEvals(func(e *api.Evaluation) {
				mu.Lock()
				released = append(released, e.ID)
				mu.Unlock()
			}, func(*api.Evaluation) {})
			b.SetEnabled(true)
			if tc.capacityAt != 0 {
				b.Unblock(tc.capacityAt)
			}
			b.Block(&api.Evaluation{ID: "e", Namespace: "default", JobID: "web", SnapshotIndex: tc.snapshotIndex})
			mu.Lock()
			got := len(released) == 1
			mu.Unlock()
			if got != tc.wantReleased {
				t.Fatalf("released = %v, want %v", got, tc.wantReleased)
			}
			if held := b.Len() == 1; held == tc.wantReleased {
				t.Fatalf("held = %v, want %v", held, !tc.wantReleased)
			}
			b.Unblock(20)
			mu.Lock()
			defer mu.Unlock()
			if len(released) != 1 || b.Len() != 0 {
				t.Fatalf("after a later capacity change: released %v, held %d", released, b.Len())
			}
		})
	}
}
