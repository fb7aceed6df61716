package state

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// NodeByID returns a node, or nil.
func (s *Snapshot) NodeByID(id string) (*api.Node, error) {
	ch, raw, err := s.txn.FirstWatch(tableNodes, "id", id)
	if err != nil {
		return nil, fmt.Errorf("node lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.Node), nil
}

// Nodes lists every node.
func (s *Snapshot) Nodes() ([]*api.Node, error) {
	return s.NodesByPrefix("")
}

// NodesByPrefix lists nodes whose ID has prefix.
func (s *Snapshot) NodesByPrefix(prefix string) ([]*api.Node, error) {
	it, err := s.txn.Get(tableNodes, "id_prefix", prefix)
	if err != nil {
		return nil, fmt.Errorf("node list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Node
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.Node))
	}
	return out, nil
}

// upsertNode registers or re-registers a node, keeping what the servers
// own (eligibility, drain) from the stored copy.
func (tx *writeTxn) upsertNode(n *api.Node) error {
	raw, err := tx.First(tableNodes, "id", n.ID)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if raw == nil {
		n.CreateIndex = tx.index
		if n.SchedulingEligibility == "" {
			n.SchedulingEligibility = "eligible"
		}
	} else {
		old := raw.(*api.Node)
		n.CreateIndex = old.CreateIndex
		n.SchedulingEligibility = old.SchedulingEligibility
		n.Drain = old.Drain
		n.DrainStrategy = old.DrainStrategy
		n.Events = old.Events
	}
	n.ModifyIndex = tx.index
	return tx.insert(tableNodes, n)
}

// updateNode applies change to a copy of the stored node.
func (tx *writeTxn) updateNode(id string, change func(n *api.Node)) error {
	raw, err := tx.First(tableNodes, "id", id)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("node %s: %w", id, ErrNotFound)
	}
	n := *raw.(*api.Node)
	change(&n)
	n.ModifyIndex = tx.index
	return tx.insert(tableNodes, &n)
}

// deleteNodes removes nodes by ID.
func (tx *writeTxn) deleteNodes(ids []string) error {
	for _, id := range ids {
		if _, err := tx.DeleteAll(tableNodes, "id", id); err != nil {
			return fmt.Errorf("delete node %s: %w", id, err)
		}
		tx.allocChanges = append(tx.allocChanges, allocChange{NodeID: id, nodeRemoved: true})
	}
	tx.touched[tableNodes] = true
	return nil
}
