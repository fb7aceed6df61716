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

// allocUpdateBatcher commits the allocation updates of many clients in one
// Raft entry per window, and one batch at a time: while a batch commits,
// the next one gathers, so that a busy leader makes fewer, larger entries
// instead of queueing many. Each caller waits for the commit of the batch
// its updates went into and gets its outcome.
type allocUpdateBatcher struct {
	apply func(structs.MessageType, any) (uint64, error)

	mu       sync.Mutex
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
	if batch == nil {
		batch = &allocUpdateBatch{jobs: map[jobKey]bool{}, done: make(chan struct{})}
		b.pending = batch
		if !b.inFlight {
			time.AfterFunc(allocUpdateBatchWindow, b.flush)
		}
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

// flush commits the pending batch, then the one that gathered meanwhile.
func (b *allocUpdateBatcher) flush() {
	for {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
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
