package state

import "sync"

// nodeAllocsWatch wakes the waiters on a node's allocations when a write
// changes one of them on the servers' side (its AllocModifyIndex moves):
// the clients' allocation long polls wait on it rather than on the memdb
// watch of the node's allocations, which also fires for every status a
// client reports, so that a busy node's poll does not run again for
// each.
type nodeAllocsWatch struct {
	mu sync.Mutex
	// chans holds, per node, the channel the next change closes.
	chans map[string]chan struct{}
}

func (w *nodeAllocsWatch) watch(nodeID string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.chans[nodeID]
	if !ok {
		if w.chans == nil {
			w.chans = map[string]chan struct{}{}
		}
		ch = make(chan struct{})
		w.chans[nodeID] = ch
	}
	return ch
}

func (w *nodeAllocsWatch) notify(nodes map[string]bool) {
	if len(nodes) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for nodeID := range nodes {
		if ch, ok := w.chans[nodeID]; ok {
			close(ch)
			delete(w.chans, nodeID)
		}
	}
}

// NodeAllocsChanged returns a channel that the next write changing one of
// the node's allocations on the servers' side closes: a placement, a stop,
// any change that moves its AllocModifyIndex. Take it before the snapshot
// it guards, so that no change falls between the two. A client's status
// report does not close it; Abandon does not either (see AbandonCh).
func (s *Store) NodeAllocsChanged(nodeID string) <-chan struct{} {
	return s.nodeAllocs.watch(nodeID)
}
