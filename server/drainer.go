package server

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// drainerIdleWait bounds how long the drainer sleeps without a change,
// so that a drain's deadline is noticed.
const drainerIdleWait = time.Second

// runNodeDrainer, on the leader, ends the drain of every node that has no
// allocation left to migrate, or whose deadline has passed: the node keeps
// its ineligibility and its LastDrain says the drain is complete.
//
// It wakes for every change to the nodes or allocations, but lists the
// nodes only when the nodes table changed: a change to allocations alone
// looks at the nodes that were draining, so that placing allocations on
// a large cluster does not walk every node for each write.
func (s *Server) runNodeDrainer(ctx context.Context) {
	var index, nodesIndex uint64
	var draining []string
	for ctx.Err() == nil {
		store := s.State()
		seen, err := store.BlockingQuery(ctx, index, drainerIdleWait, func(snap *state.Snapshot) (uint64, error) {
			return snap.Index("nodes", "allocs"), nil
		})
		if err != nil || ctx.Err() != nil {
			return
		}
		index = max(seen, 1)
		snap := store.Snapshot()
		if n := snap.Index("nodes"); n != nodesIndex || nodesIndex == 0 {
			if draining, err = drainingNodes(snap); err != nil {
				s.logger.Error("node drainer: list nodes", "error", err)
				continue
			}
			nodesIndex = n
		}
		s.completeDrains(snap, draining, time.Now())
	}
}

// drainingNodes lists the IDs of the nodes with a drain in progress.
func drainingNodes(snap *state.Snapshot) ([]string, error) {
	nodes, err := snap.Nodes()
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, n := range nodes {
		if n.DrainStrategy != nil {
			ids = append(ids, n.ID)
		}
	}
	return ids, nil
}

// completeDrains ends the drains of the nodes among ids that are done at
// now.
func (s *Server) completeDrains(snap *state.Snapshot, ids []string, now time.Time) {
	for _, id := range ids {
		n, err := snap.NodeByID(id)
		if err != nil {
			s.logger.Error("node drainer: read node", "node_id", id, "error", err)
			continue
		}
		if n == nil || n.DrainStrategy == nil || !drainDone(snap, n, now) {
			continue
		}
		req := &structs.NodeDrainRequest{NodeID: n.ID, Complete: true, Time: now.UnixNano()}
		if _, err := s.raftApply(structs.NodeDrainRequestType, req); err != nil {
			s.logger.Warn("node drainer: complete drain", "node_id", n.ID, "error", err)
			continue
		}
		s.logger.Info("node drain complete", "node_id", n.ID)
	}
}

// drainDone reports whether node n's drain is over: its deadline passed,
// or none of its allocations still waits to be stopped (system jobs'
// count only without IgnoreSystemJobs).
func drainDone(snap *state.Snapshot, n *api.Node, now time.Time) bool {
	if d := n.DrainStrategy.ForceDeadline; !d.IsZero() && !now.Before(d) {
		return true
	}
	allocs, err := snap.AllocsByNode(n.ID)
	if err != nil {
		return false
	}
	for _, a := range allocs {
		if structs.AllocTerminal(a) {
			continue
		}
		if n.DrainStrategy.IgnoreSystemJobs && a.Job != nil && a.Job.Type != nil && *a.Job.Type == structs.JobTypeSystem {
			continue
		}
		return false
	}
	return true
}
