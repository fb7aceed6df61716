package state

import "sync"

// nodeAllocsWatch wakes the waiters on a node's allocations when a write
// changes one of them on the servers' side (its AllocModifyIndex moves):
// the clients' allocation long polls wait on it rather than on the memdb
// watch of the node's allocations, which also fires for every status a
// client reports, so that a busy node's poll does not run again for
// each. A node has an entry only while someone waits on it, so that
// nodes that stop polling (gone, garbage collected) leave nothing behind.
//
// It also keeps, for each node whose client asked for changes only
// (NodeAllocChanges), the log of server-side changes to the node's
// allocations since that client's last answer, so that an answer costs
// what changed rather than what the node runs.
type nodeAllocsWatch struct {
	mu sync.Mutex
	// waits holds, per node, the channel the next change closes.
	waits map[string]*nodeAllocsWait
	// logs holds the change logs by node; a node's log goes when the
	// node is removed or the log outgrows maxNodeAllocsLog.
	logs map[string]*nodeAllocsLog
	// last is the index of the latest write notified with a change.
	last uint64
}

// nodeAllocsWait is the channel of one node's waiters, and how many
// have not released it yet.
type nodeAllocsWait struct {
	ch      chan struct{}
	waiters int
}

// nodeAllocsLog holds every server-side change to a node's allocations
// at an index after floor, oldest first.
type nodeAllocsLog struct {
	floor   uint64
	changes []NodeAllocChange
}

// maxNodeAllocsLog bounds a node's log: a node whose client does not come
// back for its changes (or a plan placing that many at once) drops its
// log, and its next poll lists all of its allocations again.
const maxNodeAllocsLog = 128

// NodeAllocChange is one server-side change to an allocation of a node:
// at Index the allocation was stored with that AllocModifyIndex, or it
// was removed from the store.
type NodeAllocChange struct {
	ID      string
	Index   uint64
	Removed bool
}

// allocChange is a change a write makes to an allocation of NodeID, or
// with nodeRemoved the removal of the node, which drops its log.
type allocChange struct {
	NodeAllocChange
	NodeID      string
	nodeRemoved bool
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

// notify records the changes of the write at index in the nodes' logs
// and wakes the nodes' waiters.
func (w *nodeAllocsWatch) notify(index uint64, changes []allocChange) {
	if len(changes) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = index
	for _, c := range changes {
		if c.nodeRemoved {
			delete(w.logs, c.NodeID)
			continue
		}
		if log, ok := w.logs[c.NodeID]; ok {
			if len(log.changes) >= maxNodeAllocsLog {
				delete(w.logs, c.NodeID)
			} else {
				log.changes = append(log.changes, c.NodeAllocChange)
			}
		}
		if wait, ok := w.waits[c.NodeID]; ok {
			close(wait.ch)
			delete(w.waits, c.NodeID)
		}
	}
}

// changesSince returns the node's changes after minIndex when its log
// holds them all (ok) and minIndex is not 0 (a client that knows nothing), dropping those up to minIndex, which the node's
// client has seen. Otherwise it starts the node's log if it has none and
// returns the index after which the log holds every change: a complete
// listing of the node's allocations taken from a snapshot after this
// call holds everything up to it. A new log starts at the store's latest
// index (latest), or at the last write notified if that is newer: a
// restored store holds changes no write notified.
func (w *nodeAllocsWatch) changesSince(nodeID string, minIndex uint64, latest func() uint64) (changes []NodeAllocChange, floor uint64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	log, found := w.logs[nodeID]
	if !found {
		if w.logs == nil {
			w.logs = map[string]*nodeAllocsLog{}
		}
		log = &nodeAllocsLog{floor: max(w.last, latest())}
		w.logs[nodeID] = log
	}
	if !found || minIndex == 0 || minIndex < log.floor {
		return nil, log.floor, false
	}
	seen := 0
	for seen < len(log.changes) && log.changes[seen].Index <= minIndex {
		seen++
	}
	log.changes = append(log.changes[:0], log.changes[seen:]...)
	log.floor = minIndex
	return append([]NodeAllocChange(nil), log.changes...), minIndex, true
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

// NodeAllocChanges returns the server-side changes to the node's
// allocations at indexes after minIndex, oldest first, when the store can
// tell them (ok): from the second call for a node on, as long as its
// client keeps asking with the index of its last answer (never with 0,
// which asks for everything). Otherwise the
// caller lists the node's allocations from a snapshot taken after this
// call; that listing is complete up to floor at least, and the next call
// with an index at or past floor answers. Calling it drops the changes up
// to minIndex, so one client asks for a node.
func (s *Store) NodeAllocChanges(nodeID string, minIndex uint64) (changes []NodeAllocChange, floor uint64, ok bool) {
	return s.nodeAllocs.changesSince(nodeID, minIndex, func() uint64 { return s.Snapshot().LatestIndex() })
}
