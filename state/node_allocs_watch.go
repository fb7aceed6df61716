package state

import "sync"

// nodeAllocsWatch wakes the waiters on a node's allocations when a write
// changes one of them on the servers' side (its AllocModifyIndex moves):
// the clients' allocation long polls wait on it rather than on the memdb
// watch of the node's allocations, which also fires for every status a
// client reports, so that a busy node's poll does not run again for
// each. A node has an entry only while someone waits on it, so that
// nodes that stop polling (gone, garbage collected) leave nothing behind.
type nodeAllocsWatch struct {
	mu sync.Mutex
	// waits holds, per node, the channel the next change closes.
	waits map[string]*nodeAllocsWait
}

// nodeAllocsWait is the channel of one node's waiters, and how many
// have not released it yet.
type nodeAllocsWait struct {
	ch      chan struct{}
	waiters int
}

func (w *nodeAllocsWatch) watch(nodeID string) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wait, ok := w.waits[nodeID]
	if !ok {
		if w.waits == nil {
			w.waits = map[string]*nodeAllocsWait{}
		}
		wait = &nodeAllocsWait{ch: make(chan struct{})}
		w.waits[nodeID] = wait
	}
	wait.waiters++
	return wait.ch, func() { w.release(nodeID, wait) }
}

// release ends one waiter's wait; the last one of a channel not yet
// closed removes the node's entry.
func (w *nodeAllocsWatch) release(nodeID string, wait *nodeAllocsWait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wait.waiters--
	if wait.waiters == 0 && w.waits[nodeID] == wait {
		delete(w.waits, nodeID)
	}
}

func (w *nodeAllocsWatch) notify(nodes map[string]bool) {
	if len(nodes) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for nodeID := range nodes {
		if wait, ok := w.waits[nodeID]; ok {
			close(wait.ch)
			delete(w.waits, nodeID)
		}
	}
}

// NodeAllocsChanged returns a channel that the next write changing one of
// the node's allocations on the servers' side closes: a placement, a stop,
// any change that moves its AllocModifyIndex. Take it before the snapshot
// it guards, so that no change falls between the two, and call release,
// once, when done waiting. A client's status report does not close it;
// Abandon does not either (see AbandonCh).
func (s *Store) NodeAllocsChanged(nodeID string) (changed <-chan struct{}, release func()) {
	return s.nodeAllocs.watch(nodeID)
}
