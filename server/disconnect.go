package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/scheduler"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// disconnectWindow is how long a node that stopped heartbeating stays
// "disconnected" before it is "down": the longest lost_after (or
// max_client_disconnect) among the groups of its live allocations. Zero
// means no allocation tolerates a disconnect and the node is down at once.
func disconnectWindow(snap *state.Snapshot, nodeID string) (time.Duration, error) {
	allocs, err := snap.AllocsByNode(nodeID)
	if err != nil {
		return 0, fmt.Errorf("disconnect window of node %s: %w", nodeID, err)
	}
	var window time.Duration
	for _, a := range allocs {
		if structs.AllocTerminal(a) {
			continue
		}
		job := a.Job
		if job == nil {
			if job, err = snap.JobByID(a.Namespace, a.JobID); err != nil {
				return 0, fmt.Errorf("disconnect window of node %s: %w", nodeID, err)
			}
		}
		if tg := groupOf(job, a.TaskGroup); tg != nil {
			window = max(window, scheduler.LostAfter(tg))
		}
	}
	return window, nil
}

func groupOf(job *api.Job, name string) *api.TaskGroup {
	if job == nil {
		return nil
	}
	for _, tg := range job.TaskGroups {
		if tg != nil && tg.Name != nil && *tg.Name == name {
			return tg
		}
	}
	return nil
}

// missedHeartbeat decides what a node that missed its heartbeat becomes.
// A ready node whose allocations tolerate a disconnect becomes
// "disconnected" and is checked again once the window is over; other
// nodes, and disconnected ones whose window is over, become "down". It
// returns how long until the node must be checked again, zero when it is
// down.
func (s *Server) missedHeartbeat(nodeID string) (time.Duration, error) {
	snap := s.State().Snapshot()
	node, err := snap.NodeByID(nodeID)
	if err != nil || node == nil || node.Status == structs.NodeStatusDown {
		return 0, err
	}
	window, err := disconnectWindow(snap, nodeID)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	if node.Status == api.NodeStatusDisconnected {
		if left := time.Unix(node.StatusUpdatedAt, 0).Add(window).Sub(now); left > 0 {
			return left, nil
		}
		s.logger.Warn("node disconnected past its window, marking down", "node_id", nodeID)
		event := &api.NodeEvent{Subsystem: "Cluster", Message: "Node disconnected past lost_after", Timestamp: now}
		return 0, s.updateNodeStatus(nodeID, structs.NodeStatusDown, event)
	}
	event := &api.NodeEvent{Subsystem: "Cluster", Message: "Node heartbeat missed", Timestamp: now}
	if window <= 0 {
		s.logger.Warn("node heartbeat missed, marking down", "node_id", nodeID)
		return 0, s.updateNodeStatus(nodeID, structs.NodeStatusDown, event)
	}
	s.logger.Warn("node heartbeat missed, marking disconnected", "node_id", nodeID, "lost_after", window)
	if err := s.updateNodeStatus(nodeID, api.NodeStatusDisconnected, event); err != nil {
		return 0, err
	}
	// The window counts from the status change, stored in whole seconds.
	return window + time.Second, nil
}
