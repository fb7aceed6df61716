package nodesim

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/rpcservers"
	"github.com/roam-project/roam/structs"
)

// Timings of a simulated node, as the real client's: failed calls are
// retried after a backoff from minRetry doubling to maxRetry, with jitter
// so that thousands of nodes losing their server do not come back at the
// same instant.
const (
	allocWait   = 5 * time.Minute
	batchWindow = 200 * time.Millisecond
	minRetry    = 500 * time.Millisecond
	maxRetry    = 15 * time.Second
)

// backoff is a retry delay that doubles with each failure.
type backoff struct{ next time.Duration }

// wait sleeps the current delay, with up to half of it again as jitter,
// and doubles it; it reports false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	d := max(b.next, minRetry)
	b.next = min(2*d, maxRetry)
	return sleep(ctx, d+rand.N(d/2))
}

func (b *backoff) reset() { b.next = 0 }

// simNode is one simulated client.
type simNode struct {
	sim     *Sim
	servers *rpcservers.Set
	node    *api.Node

	// known maps each allocation seen to the client status reported for
	// it; only the watch loop touches it.
	known map[string]string

	// pending holds updates not yet sent, newest per allocation.
	pendingMu sync.Mutex
	pending   map[string]*api.Allocation
	notify    chan struct{}
}

// run registers the node, then heartbeats, watches and reports until ctx
// ends.
func (n *simNode) run(ctx context.Context) {
	defer n.servers.Close()
	ttl, ok := n.register(ctx)
	if !ok {
		return
	}
	n.sim.nodesUp.Add(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.sendUpdates(ctx)
	}()
	go n.heartbeat(ctx, ttl)
	n.watch(ctx)
	<-done
}

func (n *simNode) register(ctx context.Context) (time.Duration, bool) {
	var retry backoff
	for {
		n.node.StatusUpdatedAt = time.Now().Unix()
		ttl, err := n.servers.RegisterNode(n.node)
		if err == nil {
			return ttl, true
		}
		n.sim.errors.Add(1)
		n.sim.cfg.Logger.Warn("register simulated node", "node", n.node.Name, "error", err)
		if !retry.wait(ctx) {
			return 0, false
		}
	}
}

// heartbeat beats at half the TTL, registering again when a beat fails.
func (n *simNode) heartbeat(ctx context.Context, ttl time.Duration) {
	for {
		if !sleep(ctx, max(ttl/2, 10*time.Millisecond)) {
			return
		}
		n.sim.heartbeats.Add(1)
		next, err := n.servers.Heartbeat(n.node.ID)
		if err != nil {
			n.sim.errors.Add(1)
			n.sim.cfg.Logger.Warn("heartbeat", "node", n.node.Name, "error", err)
			if next, ok := n.register(ctx); ok {
				ttl = next
			}
			continue
		}
		ttl = next
	}
}

// watch long-polls the node's allocations and queues the status each one
// reaches.
func (n *simNode) watch(ctx context.Context) {
	var index uint64
	var retry backoff
	for ctx.Err() == nil {
		allocs, next, err := n.servers.NodeAllocations(ctx, n.node.ID, index, allocWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.sim.errors.Add(1)
			n.sim.cfg.Logger.Warn("watch allocations", "node", n.node.Name, "error", err)
			retry.wait(ctx)
			continue
		}
		retry.reset()
		if next < index {
			index = 0
		} else {
			index = next
		}
		for _, a := range allocs {
			n.observe(a)
		}
	}
}

// observe decides what the node reports for a: a new allocation runs (a
// batch one completes at once); one the servers stop completes.
func (n *simNode) observe(a *api.Allocation) {
	reported, seen := n.known[a.ID]
	if !seen {
		n.sim.allocsSeen.Add(1)
	}
	want := structs.AllocClientStatusRunning
	if a.Job != nil && a.Job.Type != nil && (*a.Job.Type == api.JobTypeBatch || *a.Job.Type == api.JobTypeSysbatch) {
		want = structs.AllocClientStatusComplete
	}
	if a.DesiredStatus != "" && a.DesiredStatus != structs.AllocDesiredStatusRun {
		want = structs.AllocClientStatusComplete
	}
	switch a.ClientStatus {
	case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
		n.known[a.ID] = a.ClientStatus
		return
	}
	if reported == want {
		return
	}
	n.known[a.ID] = want
	n.sim.lastChange.Store(time.Now().UnixNano())
	switch want {
	case structs.AllocClientStatusRunning:
		n.sim.running.Add(1)
	case structs.AllocClientStatusComplete:
		if reported == structs.AllocClientStatusRunning {
			n.sim.running.Add(-1)
		}
		n.sim.complete.Add(1)
	}
	n.queue(update(a, want))
}

// update is the report a real client sends for a in status.
func update(a *api.Allocation, status string) *api.Allocation {
	now := time.Now()
	state := &api.TaskState{State: structs.TaskStateRunning, StartedAt: now}
	if status == structs.AllocClientStatusComplete {
		state = &api.TaskState{State: structs.TaskStateDead, StartedAt: now, FinishedAt: now}
	}
	states := map[string]*api.TaskState{}
	for _, task := range groupTasks(a) {
		states[task] = state
	}
	u := &api.Allocation{ID: a.ID, NodeID: a.NodeID, ClientStatus: status, TaskStates: states}
	if a.DeploymentID != "" && status == structs.AllocClientStatusRunning {
		u.DeploymentStatus = &api.AllocDeploymentStatus{Healthy: ptr(true), Timestamp: now}
	}
	return u
}

// groupTasks names the tasks of a's group.
func groupTasks(a *api.Allocation) []string {
	if a.Job == nil {
		return nil
	}
	for _, g := range a.Job.TaskGroups {
		if g.Name != nil && *g.Name == a.TaskGroup {
			names := make([]string, 0, len(g.Tasks))
			for _, t := range g.Tasks {
				names = append(names, t.Name)
			}
			return names
		}
	}
	return nil
}

// queue records an update for the next batch.
func (n *simNode) queue(u *api.Allocation) {
	n.pendingMu.Lock()
	n.pending[u.ID] = u
	n.pendingMu.Unlock()
	select {
	case n.notify <- struct{}{}:
	default:
	}
}

// sendUpdates sends queued updates in batches, as the real client does.
func (n *simNode) sendUpdates(ctx context.Context) {
	var retry backoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.notify:
		}
		if !sleep(ctx, batchWindow) {
			return
		}
		n.pendingMu.Lock()
		batch := make([]*api.Allocation, 0, len(n.pending))
		for _, u := range n.pending {
			batch = append(batch, u)
		}
		n.pending = map[string]*api.Allocation{}
		n.pendingMu.Unlock()
		if err := n.servers.UpdateAllocations(batch); err != nil {
			n.sim.errors.Add(1)
			n.sim.cfg.Logger.Warn("update allocations", "node", n.node.Name, "error", err)
			n.pendingMu.Lock()
			for _, u := range batch {
				if _, newer := n.pending[u.ID]; !newer {
					n.pending[u.ID] = u
				}
			}
			n.pendingMu.Unlock()
			retry.wait(ctx)
			n.poke()
			continue
		}
		retry.reset()
		n.sim.updates.Add(int64(len(batch)))
	}
}

func (n *simNode) poke() {
	select {
	case n.notify <- struct{}{}:
	default:
	}
}

// sleep waits d and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func ptr[T any](v T) *T { return &v }
