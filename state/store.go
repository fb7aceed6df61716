// Package state is Roam's cluster state store: jobs, versions, summaries,
// evaluations, allocations, nodes and namespaces in go-memdb, with MVCC snapshots and
// watch channels for blocking queries. Only the FSM writes to it.
package state

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// Store is the state store. Writes happen in Raft index order through the
// FSM; reads go through snapshots. Stored objects are never mutated: a
// writer replaces them, a reader that needs a changed copy makes one.
type Store struct {
	db *memdb.MemDB
	// abandon is closed when the store is replaced by a Raft snapshot
	// restore, waking every blocked query.
	abandon chan struct{}
	// nodeAllocs wakes the waiters on nodes whose allocations a write
	// changed on the servers' side.
	nodeAllocs nodeAllocsWatch
	// nodeWrites counts the committed writes that changed the nodes
	// table.
	nodeWrites atomic.Uint64
}

// New returns an empty store.
func New() (*Store, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("create state store: %w", err)
	}
	if err := insertDefaultNamespace(db); err != nil {
		return nil, err
	}
	if err := insertBuiltinNodePools(db); err != nil {
		return nil, err
	}
	return &Store{db: db, abandon: make(chan struct{})}, nil
}

// Abandon wakes blocked queries on a store that is being replaced.
func (s *Store) Abandon() { close(s.abandon) }

// AbandonCh is closed when the store is replaced.
func (s *Store) AbandonCh() <-chan struct{} { return s.abandon }

// Snapshot returns a consistent, read-only view of the store.
func (s *Store) Snapshot() *Snapshot {
	return &Snapshot{txn: s.db.Txn(false)}
}

// Snapshot is a point-in-time read view. With a watch set attached (Watch),
// every read also registers the channels that fire when its result changes.
type Snapshot struct {
	txn *memdb.Txn
	ws  memdb.WatchSet
}

// Watch returns a view of the same snapshot that adds its reads to ws.
func (s *Snapshot) Watch(ws memdb.WatchSet) *Snapshot {
	return &Snapshot{txn: s.txn, ws: ws}
}

func (s *Snapshot) watch(ch <-chan struct{}) {
	if s.ws != nil {
		s.ws.Add(ch)
	}
}

// Index returns the Raft index at which the named tables last changed.
func (s *Snapshot) Index(tables ...string) uint64 {
	var max uint64
	for _, t := range tables {
		ch, raw, err := s.txn.FirstWatch(tableIndex, "id", t)
		if err != nil {
			continue
		}
		s.watch(ch)
		if raw != nil && raw.(*indexEntry).Value > max {
			max = raw.(*indexEntry).Value
		}
	}
	return max
}

// LatestIndex is the highest index of any table.
func (s *Snapshot) LatestIndex() uint64 {
	return s.Index(tableJobs, tableEvals, tableAllocs, tableNodes, tableJobSummary, tableDeployments, tableNamespaces)
}

// QueryFunc reads from a snapshot and returns the index its answer is as of.
type QueryFunc func(snap *Snapshot) (index uint64, err error)

// BlockingQuery runs query, and when its index is not past minIndex, waits
// for a watched change (or wait, or ctx) and runs it again. It implements
// Nomad's `?index=N&wait=D` semantics on memdb watch channels.
func (s *Store) BlockingQuery(ctx context.Context, minIndex uint64, wait time.Duration, query QueryFunc) (uint64, error) {
	if minIndex == 0 {
		return query(s.Snapshot())
	}
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		ws := memdb.NewWatchSet()
		ws.Add(s.abandon)
		snap := s.Snapshot().Watch(ws)
		index, err := query(snap)
		if err != nil || index > minIndex {
			return index, err
		}
		if err := ws.WatchCtx(ctx); err != nil {
			// The wait ran out: answer with what we have, as Nomad does.
			return index, nil
		}
		select {
		case <-s.abandon:
			return index, nil
		default:
		}
	}
}

// writeTxn is a write transaction at one Raft index.
type writeTxn struct {
	*memdb.Txn
	index   uint64
	touched map[string]bool
	// allocChanges are the changes this write makes to allocations on
	// the servers' side (AllocModifyIndex at this index, or removal).
	allocChanges []allocChange
	// allocs shares what the allocations this write stores have in common.
	allocs compactor
	// usage holds the node usages this write changes, stored at commit.
	usage map[string]*structs.NodeUsage
}

// Write runs fn in one write transaction at Raft index; it commits when fn
// returns nil and aborts otherwise, leaving the store untouched.
func (s *Store) write(index uint64, fn func(tx *writeTxn) error) error {
	tx := &writeTxn{Txn: s.db.Txn(true), index: index, touched: map[string]bool{}}
	defer tx.Abort()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.storeUsage(); err != nil {
		return err
	}
	for table := range tx.touched {
		if err := tx.Insert(tableIndex, &indexEntry{Key: table, Value: index}); err != nil {
			return fmt.Errorf("update index of %s: %w", table, err)
		}
	}
	tx.Commit()
	if tx.touched[tableNodes] {
		s.nodeWrites.Add(1)
	}
	s.nodeAllocs.notify(index, tx.allocChanges)
	return nil
}

// NodeWrites counts the writes that changed the nodes table since the
// store was created (or restored): while it stays the same, every node
// is as a snapshot taken after it was read shows it. It moves after the
// write commits.
func (s *Store) NodeWrites() uint64 { return s.nodeWrites.Load() }

// insert stores obj in table and marks the table changed at this index.
func (tx *writeTxn) insert(table string, obj any) error {
	tx.touched[table] = true
	if row, ok := obj.(*allocRow); ok && row.AllocModifyIndex == tx.index {
		tx.allocChanges = append(tx.allocChanges, allocChange{NodeAllocChange: NodeAllocChange{ID: row.ID, Index: tx.index}, NodeID: row.NodeID})
	}
	if row, ok := obj.(*allocRow); ok {
		raw, err := tx.First(tableAllocs, "id", row.ID)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		var old *api.Allocation
		if raw != nil {
			old = raw.(*allocRow).Allocation
		}
		if err := tx.noteUsage(old, row.Allocation); err != nil {
			return err
		}
	}
	if err := tx.Insert(table, obj); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

// delete removes obj from table and marks the table changed.
func (tx *writeTxn) delete(table string, obj any) error {
	tx.touched[table] = true
	if row, ok := obj.(*allocRow); ok {
		if err := tx.noteUsage(row.Allocation, nil); err != nil {
			return err
		}
	}
	if err := tx.Delete(table, obj); err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	return nil
}
