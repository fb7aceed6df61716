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
func (s *Server) runNodeDrainer(ctx context.Context) {
	var index uint64
	for ctx.Err() == nil {
		store := s.State()
		seen, err := store.BlockingQuery(ctx, index, drainerIdleWait, func(snap *state.Snapshot) (uint64, error) {
			return snap.Index("nodes", "allocs"), nil
		})
		if err != nil || ctx.Err() != nil {
			return
		}
		index = max(seen, 1)
		s.completeDrains(store.Snapshot(), time.Now())
	}
}

// completeDrains ends the drains that are done at now.
func (s *Server) completeDrains(snap *state.Snapshot, now time.Time) {
	nodes, err := snap.Nodes()
	if err != nil {
		s.logger.Error("node drainer: list nodes", "error", err)
		return
	}
	for _, n := range nodes {
		if n.DrainStrategy == nil || !drainDone(snap, n, now) {
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
