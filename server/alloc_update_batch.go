package server

import (
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// allocUpdateBatchWindow is how long the leader gathers clients' allocation
// updates before committing them, as Nomad's batch update interval.
const allocUpdateBatchWindow = 50 * time.Millisecond

// maxAllocUpdateBatch bounds the allocations of one batch (a client's
// updates are never split), as the plan applier's batches are bounded:
// past some 1,500 allocations a memdb write notifies its watchers by
// walking whole index trees, which at a million allocations would make a
// slow commit slower and the next batch larger still.
const maxAllocUpdateBatch = 1024

// allocUpdateBatcher commits the allocation updates of many clients in one
// Raft entry per window, and one batch at a time: while a batch commits,
// the next one gathers, so that a busy leader makes fewer, larger entries
// instead of queueing many. Each caller waits for the commit of the batch
// its updates went into and gets its outcome.
type allocUpdateBatcher struct {
	apply func(structs.MessageType, any) (uint64, error)

	mu sync.Mutex
	// full are the batches that reached maxAllocUpdateBatch, oldest
	// first, to commit before pending.
	full     []*allocUpdateBatch
	pending  *allocUpdateBatch
	inFlight bool
}

// allocUpdateBatch is one window's updates and, once committed, the outcome.
type allocUpdateBatch struct {
	allocs []*api.Allocation
	evals  []*api.Evaluation
	jobs   map[jobKey]bool
	done   chan struct{}
	err    error
}

func newAllocUpdateBatcher(apply func(structs.MessageType, any) (uint64, error)) *allocUpdateBatcher {
	return &allocUpdateBatcher{apply: apply}
}

// submit adds updates, and the evaluations given for jobs that have none
// in this batch yet, and waits for the batch's commit.
func (b *allocUpdateBatcher) submit(updates []*api.Allocation, evals map[jobKey]*api.Evaluation) error {
	b.mu.Lock()
	batch := b.pending
	if batch != nil && len(batch.allocs) > 0 && len(batch.allocs)+len(updates) > maxAllocUpdateBatch {
		b.full = append(b.full, batch)
		batch = nil
	}
	if batch == nil {
		batch = &allocUpdateBatch{jobs: map[jobKey]bool{}, done: make(chan struct{})}
		if b.pending == nil && len(b.full) == 0 && !b.inFlight {
			time.AfterFunc(allocUpdateBatchWindow, b.flush)
		}
		b.pending = batch
	}
	batch.allocs = append(batch.allocs, updates...)
	for key, e := range evals {
		if !batch.jobs[key] {
			batch.jobs[key] = true
			batch.evals = append(batch.evals, e)
		}
	}
	b.mu.Unlock()
	<-batch.done
	return batch.err
}

// flush commits the full batches and the pending one, then those that
// gathered meanwhile.
func (b *allocUpdateBatcher) flush() {
	for {
		b.mu.Lock()
		var batch *allocUpdateBatch
		if len(b.full) > 0 {
			batch, b.full = b.full[0], b.full[1:]
		} else {
			batch, b.pending = b.pending, nil
		}
		b.inFlight = batch != nil
		b.mu.Unlock()
		if batch == nil {
			return
		}
		req := &structs.AllocClientUpdateRequest{Allocs: batch.allocs, Evals: batch.evals, Time: time.Now().UnixNano()}
		_, batch.err = b.apply(structs.AllocClientUpdateRequestType, req)
		close(batch.done)
	}
}
