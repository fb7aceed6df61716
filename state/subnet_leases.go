package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-project/roam/structs"
)

// tableSubnetLeases holds the cluster network's subnet leases, one a node.
const tableSubnetLeases = "subnet_leases"

func subnetLeasesTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableSubnetLeases, Indexes: map[string]*memdb.IndexSchema{
		"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		"subnet": {Name: "subnet", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Subnet"}},
	}}
}

// SubnetLeases lists every lease, by subnet.
func (s *Snapshot) SubnetLeases() ([]*structs.SubnetLease, error) {
	it, err := s.txn.Get(tableSubnetLeases, "id")
	if err != nil {
		return nil, fmt.Errorf("subnet lease list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*structs.SubnetLease
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.SubnetLease))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subnet < out[j].Subnet })
	return out, nil
}

// SubnetLeasesIndex is the Raft index at which leases last changed.
func (s *Snapshot) SubnetLeasesIndex() uint64 { return s.Index(tableSubnetLeases) }

// UpsertSubnetLease releases the leases of req.Release, then stores
// req.Lease; a subnet another node holds is refused.
func (s *Store) UpsertSubnetLease(index uint64, req *structs.SubnetLeaseRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, id := range req.Release {
			n, err := tx.DeleteAll(tableSubnetLeases, "id", id)
			if err != nil {
				return fmt.Errorf("release subnet lease of node %s: %w", id, err)
			}
			if n > 0 {
				tx.touched[tableSubnetLeases] = true
			}
		}
		l := req.Lease
		if l == nil || l.NodeID == "" || l.Subnet == "" {
			return fmt.Errorf("subnet lease needs a node and a subnet")
		}
		raw, err := tx.First(tableSubnetLeases, "subnet", l.Subnet)
		if err != nil {
			return fmt.Errorf("subnet lease lookup: %w", err)
		}
		if raw != nil && raw.(*structs.SubnetLease).NodeID != l.NodeID {
			return fmt.Errorf("subnet %s is leased to node %s", l.Subnet, raw.(*structs.SubnetLease).NodeID)
		}
		c := *l
		c.CreateIndex, c.ModifyIndex = index, index
		if old, err := tx.First(tableSubnetLeases, "id", l.NodeID); err == nil && old != nil {
			c.CreateIndex = old.(*structs.SubnetLease).CreateIndex
		}
		return tx.insert(tableSubnetLeases, &c)
	})
}

// SubnetLeaseOf returns a node's lease, or nil.
func (s *Snapshot) SubnetLeaseOf(nodeID string) (*structs.SubnetLease, error) {
	ch, raw, err := s.txn.FirstWatch(tableSubnetLeases, "id", nodeID)
	if err != nil {
		return nil, fmt.Errorf("subnet lease lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.SubnetLease), nil
}

// NodesIndex is the Raft index at which nodes last changed.
func (s *Snapshot) NodesIndex() uint64 { return s.Index(tableNodes) }

// AllocsIndex is the Raft index at which allocations last changed.
func (s *Snapshot) AllocsIndex() uint64 { return s.Index(tableAllocs) }
