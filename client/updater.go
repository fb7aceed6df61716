package client

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// updateBatchWindow is how long status updates are coalesced before they
// are sent to the servers.
const updateBatchWindow = 200 * time.Millisecond

// updater batches allocation status updates to the servers, keeping only
// the newest update per allocation.
type updater struct {
	servers Servers
	logger  *slog.Logger

	mu      sync.Mutex
	pending map[string]*api.Allocation
	notify  chan struct{}
	// retry cuts short the wait after a failed batch.
	retry chan struct{}
}

func newUpdater(servers Servers, logger *slog.Logger) *updater {
	return &updater{
		servers: servers, logger: logger, pending: map[string]*api.Allocation{},
		notify: make(chan struct{}, 1), retry: make(chan struct{}, 1),
	}
}

// queue records an update to send with the next batch.
func (u *updater) queue(a *api.Allocation) {
	u.mu.Lock()
	u.pending[a.ID] = a
	u.mu.Unlock()
	select {
	case u.notify <- struct{}{}:
	default:
	}
}

// run sends batches until ctx is done.
func (u *updater) run(ctx context.Context) {
	backoff := minRetry
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.notify:
		}
		if !sleepCtx(ctx, updateBatchWindow) {
			return
		}
		if err := u.flush(); err != nil {
			u.logger.Error("update allocations", "error", err, "retry_in", backoff)
			if u.waitRetry(ctx, backoff) {
				backoff = minRetry
			} else {
				backoff = min(backoff*2, maxRetry)
			}
			u.poke()
			continue
		}
		backoff = minRetry
	}
}

func (u *updater) poke() {
	select {
	case u.notify <- struct{}{}:
	default:
	}
}

// retryNow ends the wait after a failed batch, and resets its backoff:
// the servers are reachable again.
func (u *updater) retryNow() {
	select {
	case u.retry <- struct{}{}:
	default:
	}
}

// waitRetry waits d after a failed batch and reports whether retryNow cut
// the wait short.
func (u *updater) waitRetry(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-u.retry:
		return true
	case <-ctx.Done():
		return false
	}
}

// flush sends the pending updates; on failure they are kept unless a newer
// update for the same allocation arrived meanwhile.
func (u *updater) flush() error {
	u.mu.Lock()
	batch := make([]*api.Allocation, 0, len(u.pending))
	for _, a := range u.pending {
		batch = append(batch, a)
	}
	u.pending = map[string]*api.Allocation{}
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := u.servers.UpdateAllocations(batch)
	if err != nil {
		u.mu.Lock()
		for _, a := range batch {
			if _, newer := u.pending[a.ID]; !newer {
				u.pending[a.ID] = a
			}
		}
		u.mu.Unlock()
	}
	return err
}
