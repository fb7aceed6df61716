package server

import (
	"context"
	"sync"
	"time"

	"github.com/roam-project/roam/structs"
)

// maxHeartbeatsPerSecond bounds the cluster-wide heartbeat rate: TTLs grow
// with the number of nodes so that the leader sees at most this many.
const maxHeartbeatsPerSecond = 50.0

// heartbeats is the leader's record of when each node must next be heard
// from. A node that misses its TTL plus the grace period is marked down
// and its allocations are rescheduled, or, when some of its allocations
// tolerate a disconnect (lost_after), marked disconnected and down only
// once that window is over (see missedHeartbeat).
type heartbeats struct {
	srv    *Server
	mu     sync.Mutex
	timers map[string]*time.Timer
	ctx    context.Context
}

func newHeartbeats(srv *Server) *heartbeats {
	return &heartbeats{srv: srv, timers: map[string]*time.Timer{}}
}

// Start arms a timer for every live node. As in Nomad, a new leader gives
// every node the failover TTL (FailoverHeartbeatTTL, 5 minutes by default)
// to find it: clients learn of the failover only when a call to the old
// leader fails, and heartbeat on the TTL the old one gave them. The
// deadlines are staggered over the time the leader needs to hear every
// node at its heartbeat rate, so that nodes that are really gone are not
// all marked down at once.
func (h *heartbeats) Start(ctx context.Context) {
	nodes, err := h.srv.State().Snapshot().Nodes()
	if err != nil {
		h.srv.logger.Error("arm heartbeats", "error", err)
		return
	}
	var live []string
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown {
			live = append(live, n.ID)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ctx = ctx
	ttl := h.srv.config.FailoverHeartbeatTTL
	spread := time.Duration(float64(len(live)) / maxHeartbeatsPerSecond * float64(time.Second))
	for i, id := range live {
		d := ttl + spread*time.Duration(i)/time.Duration(len(live))
		if t, ok := h.timers[id]; ok {
			t.Reset(d)
			continue
		}
		h.timers[id] = time.AfterFunc(d, func() { h.expire(id) })
	}
}

// Stop disarms every timer.
func (h *heartbeats) Stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.timers {
		t.Stop()
		delete(h.timers, id)
	}
	h.ctx = nil
}

// TTL is the heartbeat interval handed to nodes now.
func (h *heartbeats) TTL() time.Duration {
	h.mu.Lock()
	n := len(h.timers)
	h.mu.Unlock()
	ttl := time.Duration(float64(n) / maxHeartbeatsPerSecond * float64(time.Second))
	return max(ttl, h.srv.config.MinHeartbeatTTL)
}

// Reset restarts a node's timer and returns its TTL.
func (h *heartbeats) Reset(nodeID string) time.Duration {
	ttl := h.TTL()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return ttl
	}
	if t, ok := h.timers[nodeID]; ok {
		t.Reset(ttl + h.srv.config.HeartbeatGrace)
		return ttl
	}
	h.timers[nodeID] = time.AfterFunc(ttl+h.srv.config.HeartbeatGrace, func() { h.expire(nodeID) })
	return ttl
}

// Clear forgets a node, e.g. one that was garbage collected.
func (h *heartbeats) Clear(nodeID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.timers[nodeID]; ok {
		t.Stop()
		delete(h.timers, nodeID)
	}
}

func (h *heartbeats) expire(nodeID string) {
	h.mu.Lock()
	delete(h.timers, nodeID)
	live := h.ctx != nil && h.ctx.Err() == nil
	h.mu.Unlock()
	if !live {
		return
	}
	recheck, err := h.srv.missedHeartbeat(nodeID)
	if err != nil {
		h.srv.logger.Error("missed heartbeat", "node_id", nodeID, "error", err)
		return
	}
	if recheck > 0 {
		h.arm(nodeID, recheck)
	}
}

// arm (re)starts a node's timer to fire after d, unless the node heard
// from meanwhile already has one.
func (h *heartbeats) arm(nodeID string, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return
	}
	if _, ok := h.timers[nodeID]; ok {
		return
	}
	h.timers[nodeID] = time.AfterFunc(d, func() { h.expire(nodeID) })
}
