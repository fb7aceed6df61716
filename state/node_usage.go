package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableNodeUsage holds, per node, the sum of its non-terminal allocations
// (structs.NodeUsage). It is derived from the allocations table, updated
// in the same write transactions, never persisted: Restore rebuilds it.
const tableNodeUsage = "node_usage"

// nodeUsageRow is the stored usage of one node.
type nodeUsageRow struct {
	NodeID string
	Usage  *structs.NodeUsage
}

func nodeUsageTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableNodeUsage, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
	}}
}

// NodeUsage returns what the node's non-terminal allocations hold, as of
// this snapshot; nil when it has none. The result must not be changed.
func (s *Snapshot) NodeUsage(nodeID string) (*structs.NodeUsage, error) {
	ch, raw, err := s.txn.FirstWatch(tableNodeUsage, "id", nodeID)
	if err != nil {
		return nil, fmt.Errorf("node usage lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*nodeUsageRow).Usage, nil
}

// countsForUsage reports whether a (nil for none) counts in its node's
// usage.
func countsForUsage(a *api.Allocation) bool {
	return a != nil && !structs.AllocTerminal(a)
}

// sameUsage reports whether replacing old by a leaves the node usage as it
// is: both count or neither does, on the same node with the same
// resources.
func sameUsage(old, a *api.Allocation) bool {
	if countsForUsage(old) != countsForUsage(a) {
		return false
	}
	return !countsForUsage(a) || (old.NodeID == a.NodeID &&
		old.AllocatedResources == a.AllocatedResources && old.Resources == a.Resources)
}

// noteUsage records, for commit, the usage change of replacing old by a
// (either may be nil).
func (tx *writeTxn) noteUsage(old, a *api.Allocation) error {
	if sameUsage(old, a) {
		return nil
	}
	if countsForUsage(old) {
		u, err := tx.pendingUsage(old.NodeID)
		if err != nil {
			return err
		}
		u.Add(old, -1)
	}
	if countsForUsage(a) {
		u, err := tx.pendingUsage(a.NodeID)
		if err != nil {
			return err
		}
		u.Add(a, 1)
	}
	return nil
}

// pendingUsage is the node's usage as this write changes it: a clone of
// the stored one, made on first use.
func (tx *writeTxn) pendingUsage(nodeID string) (*structs.NodeUsage, error) {
	if u, ok := tx.usage[nodeID]; ok {
		return u, nil
	}
	raw, err := tx.First(tableNodeUsage, "id", nodeID)
	if err != nil {
		return nil, fmt.Errorf("node usage lookup: %w", err)
	}
	var stored *structs.NodeUsage
	if raw != nil {
		stored = raw.(*nodeUsageRow).Usage
	}
	if tx.usage == nil {
		tx.usage = map[string]*structs.NodeUsage{}
	}
	u := stored.Clone()
	tx.usage[nodeID] = u
	return u, nil
}

// storeUsage writes the usages this write changed; a node left with no
// allocation that counts loses its row.
func (tx *writeTxn) storeUsage() error {
	return storeUsages(tx.Txn, tx.usage)
}

func storeUsages(txn *memdb.Txn, usage map[string]*structs.NodeUsage) error {
	for nodeID, u := range usage {
		if u.Empty() {
			if _, err := txn.DeleteAll(tableNodeUsage, "id", nodeID); err != nil {
				return fmt.Errorf("delete node usage: %w", err)
			}
			continue
		}
		if err := txn.Insert(tableNodeUsage, &nodeUsageRow{NodeID: nodeID, Usage: u}); err != nil {
			return fmt.Errorf("insert node usage: %w", err)
		}
	}
	return nil
}
