package server

import (
	"sync"

	"github.com/hashicorp/nomad/api"
)

// blockedEvals holds evaluations that could not place everything, one per
// job, until capacity changes (a node joins or becomes eligible, an
// allocation stops); then they go back to the eval broker.
type blockedEvals struct {
	mu      sync.Mutex
	enabled bool
	byJob   map[jobKey]*api.Evaluation
	// enqueue hands an unblocked evaluation to the broker; cancel records
	// that a newer blocked evaluation of the same job replaced an old one.
	enqueue func(*api.Evaluation)
	cancel  func(*api.Evaluation)
	// capacityIndex is the Raft index of the last capacity change. A
	// blocked evaluation scheduled from an older snapshot missed it, so it
	// is released at once instead of waiting for the next change.
	capacityIndex uint64
}

func newBlockedEvals(enqueue, cancel func(*api.Evaluation)) *blockedEvals {
	return &blockedEvals{byJob: map[jobKey]*api.Evaluation{}, enqueue: enqueue, cancel: cancel}
}

// SetEnabled turns tracking on (leader) or off, dropping what it holds.
func (b *blockedEvals) SetEnabled(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = on
	if !on {
		b.byJob = map[jobKey]*api.Evaluation{}
	}
}

// Block tracks a blocked evaluation, replacing an older one of its job.
func (b *blockedEvals) Block(e *api.Evaluation) {
	b.mu.Lock()
	if !b.enabled {
		b.mu.Unlock()
		return
	}
	key := jobKey{e.Namespace, e.JobID}
	if old, ok := b.byJob[key]; ok && old.ID != e.ID {
		if old.CreateIndex > e.CreateIndex {
			b.mu.Unlock()
			go b.cancel(e)
			return
		}
		delete(b.byJob, key)
		go b.cancel(old)
	}
	missed := e.SnapshotIndex != 0 && e.SnapshotIndex < b.capacityIndex
	if !missed {
		b.byJob[key] = e
	}
	b.mu.Unlock()
	if missed {
		b.enqueue(e)
	}
}

// Untrack forgets a job's blocked evaluation, e.g. when the job is gone.
func (b *blockedEvals) Untrack(namespace, jobID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.byJob, jobKey{namespace, jobID})
}

// Unblock sends every blocked evaluation back to the broker, after a
// capacity change at Raft index. Nomad narrows this by node class; Roam
// re-evaluates all, and an evaluation that still cannot place is blocked
// again.
func (b *blockedEvals) Unblock(index uint64) {
	b.mu.Lock()
	b.capacityIndex = max(b.capacityIndex, index)
	evals := make([]*api.Evaluation, 0, len(b.byJob))
	for key, e := range b.byJob {
		evals = append(evals, e)
		delete(b.byJob, key)
	}
	b.mu.Unlock()
	for _, e := range evals {
		b.enqueue(e)
	}
}

// Len is the number of blocked evaluations.
func (b *blockedEvals) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byJob)
}
