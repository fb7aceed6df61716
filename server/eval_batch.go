package server

import (
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// evalBatchWindow is how long the leader gathers status changes of
// evaluations before committing them.
const evalBatchWindow = 50 * time.Millisecond

// evalBatcher commits the evaluation status changes the leader makes on
// its own (superseded evaluations cancelled, evaluations failed at the
// delivery limit) in batches: under load a job's waiting evaluations are
// cancelled by the hundred, and one Raft entry each would crowd out the
// plans. A batch that fails (leadership lost) is dropped: the next leader
// restores the evaluations from the state and decides again.
type evalBatcher struct {
	apply  func(structs.MessageType, any) (uint64, error)
	logger *slog.Logger

	mu      sync.Mutex
	pending []*api.Evaluation
}

func newEvalBatcher(apply func(structs.MessageType, any) (uint64, error), logger *slog.Logger) *evalBatcher {
	return &evalBatcher{apply: apply, logger: logger}
}

// add queues e, already carrying its new status, for the next batch.
func (b *evalBatcher) add(e *api.Evaluation) {
	b.mu.Lock()
	b.pending = append(b.pending, e)
	first := len(b.pending) == 1
	b.mu.Unlock()
	if first {
		time.AfterFunc(evalBatchWindow, b.flush)
	}
}

// flush commits what is queued.
func (b *evalBatcher) flush() {
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	req := &structs.EvalUpdateRequest{Evals: batch, Time: time.Now().UnixNano()}
	if _, err := b.apply(structs.EvalUpdateRequestType, req); err != nil {
		b.logger.Warn("update evaluations", "evals", len(batch), "error", err)
	}
}
