package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableNodePools holds *api.NodePool by name.
const tableNodePools = "node_pools"

func nodePoolsTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableNodePools, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
	}}
}

// RefusedError is a write refused for the state it found (a node pool that
// still has nodes, say); the write changes nothing.
type RefusedError struct{ msg string }

func (e *RefusedError) Error() string { return e.msg }

func refusedf(format string, args ...any) error {
	return &RefusedError{msg: fmt.Sprintf(format, args...)}
}

// NodePoolByName returns a node pool, or nil.
func (s *Snapshot) NodePoolByName(name string) (*api.NodePool, error) {
	ch, raw, err := s.txn.FirstWatch(tableNodePools, "id", name)
	if err != nil {
		return nil, fmt.Errorf("node pool lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.NodePool), nil
}

// NodePools lists the node pools whose name has prefix, by name.
func (s *Snapshot) NodePools(prefix string) ([]*api.NodePool, error) {
	it, err := s.txn.Get(tableNodePools, "id_prefix", prefix)
	if err != nil {
		return nil, fmt.Errorf("node pool list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.NodePool
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.NodePool))
	}
	return out, nil
}

// NodePoolsIndex is the Raft index at which node pools last changed.
func (s *Snapshot) NodePoolsIndex() uint64 { return s.Index(tableNodePools) }

// UpsertNodePools creates or updates node pools at index; an update keeps
// the pool's create index. The built-in pools cannot be changed.
func (s *Store) UpsertNodePools(index uint64, req *structs.NodePoolUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, p := range req.Pools {
			if structs.IsBuiltinNodePool(p.Name) {
				return refusedf("modifying node pool %q is not allowed", p.Name)
			}
			if err := tx.upsertNodePool(p); err != nil {
				return err
			}
		}
		return nil
	})
}

func (tx *writeTxn) upsertNodePool(p *api.NodePool) error {
	raw, err := tx.First(tableNodePools, "id", p.Name)
	if err != nil {
		return fmt.Errorf("node pool lookup: %w", err)
	}
	c := *p
	c.CreateIndex, c.ModifyIndex = tx.index, tx.index
	if raw != nil {
		c.CreateIndex = raw.(*api.NodePool).CreateIndex
	}
	return tx.insert(tableNodePools, &c)
}

// ensureNodePool creates the pool a registering node names when it does not
// exist yet, as Nomad does.
func (tx *writeTxn) ensureNodePool(name string) error {
	raw, err := tx.First(tableNodePools, "id", name)
	if err != nil {
		return fmt.Errorf("node pool lookup: %w", err)
	}
	if raw != nil {
		return nil
	}
	return tx.upsertNodePool(&api.NodePool{Name: name})
}

// DeleteNodePools deletes node pools at index, all or none: a built-in
// pool cannot be deleted, nor one that still has nodes or jobs that are
// not dead.
func (s *Store) DeleteNodePools(index uint64, req *structs.NodePoolDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, name := range req.Names {
			if structs.IsBuiltinNodePool(name) {
				return refusedf("deleting built-in node pool %q is not allowed", name)
			}
			raw, err := tx.First(tableNodePools, "id", name)
			if err != nil {
				return fmt.Errorf("node pool lookup: %w", err)
			}
			if raw == nil {
				return fmt.Errorf("node pool %q: %w", name, ErrNotFound)
			}
			if err := nodePoolDeletable(tx.Txn, name); err != nil {
				return err
			}
			if err := tx.delete(tableNodePools, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// nodePoolDeletable reports why a node pool cannot be deleted, if it
// cannot.
func nodePoolDeletable(txn *memdb.Txn, name string) error {
	nodes, err := txn.Get(tableNodes, "id")
	if err != nil {
		return fmt.Errorf("node list: %w", err)
	}
	for raw := nodes.Next(); raw != nil; raw = nodes.Next() {
		if n := raw.(*api.Node); structs.NodePoolOf(n) == name {
			return refusedf("node pool %q has node %q: move its nodes to another pool before deleting it", name, n.ID)
		}
	}
	jobs, err := txn.Get(tableJobs, "id")
	if err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	for raw := jobs.Next(); raw != nil; raw = jobs.Next() {
		j := raw.(*jobRow).Job
		if j.NodePool != nil && *j.NodePool == name && (j.Status == nil || *j.Status != structs.JobStatusDead) {
			return refusedf("node pool %q has non-terminal job %q in namespace %q: stop its jobs before deleting it", name, *j.ID, *j.Namespace)
		}
	}
	return nil
}

// insertBuiltinNodePools adds the pools every Nomad cluster has from the
// start: "default" and "all".
func insertBuiltinNodePools(db *memdb.MemDB) error {
	tx := db.Txn(true)
	defer tx.Abort()
	for _, p := range structs.BuiltinNodePools() {
		if err := tx.Insert(tableNodePools, p); err != nil {
			return fmt.Errorf("create node pool %s: %w", p.Name, err)
		}
	}
	tx.Commit()
	return nil
}
