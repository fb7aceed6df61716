package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func TestAllocUpdateBatcherBoundsBatches(t *testing.T) {
	cases := []struct {
		name string
		// clients are the sizes of the updates submitted at once.
		clients []int
		// wantAtLeast is the fewest Raft entries they may take.
		wantAtLeast int
	}{
		{name: "small updates fit in one bound", clients: []int{100, 100, 100, 100, 100}, wantAtLeast: 1},
		{name: "updates past the bound split between clients", clients: []int{600, 600, 600}, wantAtLeast: 3},
		{name: "one client's large update is not split", clients: []int{2000}, wantAtLeast: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Hour)
			var mu sync.Mutex
			var sizes []int
			b := newAllocUpdateBatcher(func(typ structs.MessageType, req any) (uint64, error) {
				mu.Lock()
				sizes = append(sizes, len(req.(*structs.AllocClientUpdateRequest).Allocs))
				mu.Unlock()
				return s.raftApply(typ, req)
			})
			var wg sync.WaitGroup
			errs := make(chan error, len(tc.clients))
			for c, n := range tc.clients {
				updates := make([]*api.Allocation, n)
				for i := range updates {
					updates[i] = &api.Allocation{ID: fmt.Sprintf("c%d-a%d", c, i), ClientStatus: structs.AllocClientStatusRunning}
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- b.submit(updates, nil)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			total, want := 0, 0
			for _, n := range tc.clients {
				want += n
			}
			for _, n := range sizes {
				total += n
				if n > maxAllocUpdateBatch && len(tc.clients) > 1 {
					t.Errorf("a batch of %d allocations, over the bound %d", n, maxAllocUpdateBatch)
				}
			}
			if total != want || len(sizes) < tc.wantAtLeast {
				t.Fatalf("batches %v: %d allocations in %d entries, want %d in at least %d", sizes, total, len(sizes), want, tc.wantAtLeast)
			}
		})
	}
}
