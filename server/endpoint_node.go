package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// RegisterNode registers or re-registers a client node and returns its
// heartbeat TTL. A node that is new, or whose status changes, gets
// evaluations for the jobs it may affect.
func (s *Server) RegisterNode(node *api.Node) (time.Duration, error) {
	var reply structs.HeartbeatReply
	if done, err := s.forward("Node.Register", &structs.NodeRegisterArgs{Node: node}, &reply); done {
		return reply.TTL, err
	}
	if node.ID == "" || node.Name == "" {
		return 0, fmt.Errorf("%w: node ID and name are required", ErrInvalid)
	}
	if node.Status == "" {
		node.Status = structs.NodeStatusInit
	}
	snap := s.State().Snapshot()
	old, err := snap.NodeByID(node.ID)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	node.StatusUpdatedAt = now.Unix()
	if old == nil {
		node.Events = []*api.NodeEvent{{Subsystem: "Cluster", Message: "Node registered", Timestamp: now}}
	}
	req := &structs.NodeRegisterRequest{Node: node, Time: now.UnixNano()}
	if old == nil || old.Status != node.Status {
		req.Evals, err = s.nodeEvals(snap, node.ID)
		if err != nil {
			return 0, err
		}
	}
	if _, err := s.raftApply(structs.NodeRegisterRequestType, req); err != nil {
		return 0, err
	}
	return s.beats.Reset(node.ID), nil
}

// Heartbeat records that a node is alive; a node that was down or
// initializing becomes ready.
func (s *Server) Heartbeat(nodeID string) (time.Duration, error) {
	var reply structs.HeartbeatReply
	if done, err := s.forward("Node.Heartbeat", &structs.NodeHeartbeatArgs{NodeID: nodeID}, &reply); done {
		return reply.TTL, err
	}
	node, err := s.State().Snapshot().NodeByID(nodeID)
	if err != nil {
		return 0, err
	}
	if node == nil {
		return 0, fmt.Errorf("node %s: %w", nodeID, ErrNotFound)
	}
	if node.Status != structs.NodeStatusReady {
		event := &api.NodeEvent{Subsystem: "Cluster", Message: "Node heartbeat received", Timestamp: time.Now()}
		if err := s.updateNodeStatus(nodeID, structs.NodeStatusReady, event); err != nil {
			return 0, err
		}
	}
	return s.beats.Reset(nodeID), nil
}

// updateNodeStatus commits a node status change with evaluations for every
// job that has allocations on the node.
func (s *Server) updateNodeStatus(nodeID, status string, event *api.NodeEvent) error {
	evals, err := s.nodeEvals(s.State().Snapshot(), nodeID)
	if err != nil {
		return err
	}
	req := &structs.NodeStatusUpdateRequest{NodeID: nodeID, Status: status, Event: event, Evals: evals, Time: time.Now().UnixNano()}
	_, err = s.raftApply(structs.NodeStatusUpdateRequestType, req)
	return err
}

// UpdateEligibility marks a node eligible or ineligible for placements.
func (s *Server) UpdateEligibility(token string, nodeID, eligibility string) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("Node.UpdateEligibility", &structs.NodeEligibilityArgs{NodeID: nodeID, Eligibility: eligibility, WriteRequest: structs.WriteRequest{AuthToken: token}}, &reply); done {
		return reply.Index, err
	}
	if eligibility != structs.NodeSchedulingEligible && eligibility != structs.NodeSchedulingIneligible {
		return 0, fmt.Errorf("%w: invalid scheduling eligibility %q", ErrInvalid, eligibility)
	}
	snap := s.State().Snapshot()
	node, err := snap.NodeByID(nodeID)
	if err != nil {
		return 0, err
	}
	if node == nil {
		return 0, fmt.Errorf("node %s: %w", nodeID, ErrNotFound)
	}
	if node.DrainStrategy != nil && eligibility == structs.NodeSchedulingEligible {
		return 0, fmt.Errorf("%w: can not set node's scheduling eligibility to eligible while it is draining", ErrInvalid)
	}
	req := &structs.NodeEligibilityRequest{NodeID: nodeID, Eligibility: eligibility, Time: time.Now().UnixNano()}
	return s.raftApply(structs.NodeEligibilityRequestType, req)
}

// UpdateDrain sets (or, with a nil strategy, clears) a node's drain. The
// node's allocations are migrated by evaluations.
func (s *Server) UpdateDrain(token string, nodeID string, strategy *api.DrainStrategy, markEligible bool, meta map[string]string) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("Node.UpdateDrain", &structs.NodeDrainArgs{NodeID: nodeID, Strategy: strategy, MarkEligible: markEligible, Meta: meta, WriteRequest: structs.WriteRequest{AuthToken: token}}, &reply); done {
		return reply.Index, err
	}
	snap := s.State().Snapshot()
	node, err := snap.NodeByID(nodeID)
	if err != nil {
		return 0, err
	}
	if node == nil {
		return 0, fmt.Errorf("node %s: %w", nodeID, ErrNotFound)
	}
	req := &structs.NodeDrainRequest{NodeID: nodeID, DrainStrategy: strategy, MarkEligible: markEligible, Meta: meta, Time: time.Now().UnixNano()}
	if strategy != nil {
		if strategy.StartedAt.IsZero() {
			strategy.StartedAt = time.Now()
		}
		allocs, err := snap.AllocsByNode(nodeID)
		if err != nil {
			return 0, err
		}
		transition := &structs.AllocDesiredTransitionRequest{Transition: api.DesiredTransition{Migrate: ptr(true)}, Time: req.Time}
		for _, a := range allocs {
			if !structs.AllocTerminal(a) {
				transition.AllocIDs = append(transition.AllocIDs, a.ID)
			}
		}
		if transition.Evals, err = s.nodeEvals(snap, nodeID); err != nil {
			return 0, err
		}
		if _, err := s.raftApply(structs.NodeDrainRequestType, req); err != nil {
			return 0, err
		}
		return s.raftApply(structs.AllocDesiredTransitionRequestType, transition)
	}
	return s.raftApply(structs.NodeDrainRequestType, req)
}

// EvaluateNode creates an evaluation for each job with live allocations
// on the node (`node eval`); a node without any gets none.
func (s *Server) EvaluateNode(token, nodeID string) ([]string, uint64, error) {
	var reply structs.NodeEvalReply
	if done, err := s.forward("Node.Evaluate", &structs.NodeIDArgs{NodeID: nodeID, WriteRequest: structs.WriteRequest{AuthToken: token}}, &reply); done {
		return reply.EvalIDs, reply.Index, err
	}
	snap := s.State().Snapshot()
	if err := nodeExists(snap, nodeID); err != nil {
		return nil, 0, err
	}
	evals, err := s.nodeEvals(snap, nodeID)
	if err != nil || len(evals) == 0 {
		return nil, 0, err
	}
	index, err := s.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals, Time: time.Now().UnixNano()})
	return evalIDs(evals), index, err
}

// PurgeNode removes a node from the cluster state (`node purge`), with an
// evaluation for each job that had allocations on it. A client agent that
// is still running registers its node again.
func (s *Server) PurgeNode(token, nodeID string) ([]string, uint64, error) {
	var reply structs.NodeEvalReply
	if done, err := s.forward("Node.Purge", &structs.NodeIDArgs{NodeID: nodeID, WriteRequest: structs.WriteRequest{AuthToken: token}}, &reply); done {
		return reply.EvalIDs, reply.Index, err
	}
	snap := s.State().Snapshot()
	if err := nodeExists(snap, nodeID); err != nil {
		return nil, 0, err
	}
	evals, err := s.nodeEvals(snap, nodeID)
	if err != nil {
		return nil, 0, err
	}
	index, err := s.raftApply(structs.GCRequestType, &structs.GCRequest{NodeIDs: []string{nodeID}, Evals: evals, Time: time.Now().UnixNano()})
	if err != nil {
		return nil, 0, err
	}
	s.beats.Clear(nodeID)
	return evalIDs(evals), index, nil
}

// nodeExists is an ErrNotFound error unless the node is in snap.
func nodeExists(snap *state.Snapshot, nodeID string) error {
	node, err := snap.NodeByID(nodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return fmt.Errorf("node not found: %w", ErrNotFound)
	}
	return nil
}

func evalIDs(evals []*api.Evaluation) []string {
	ids := make([]string, len(evals))
	for i, e := range evals {
		ids[i] = e.ID
	}
	return ids
}

// nodeEvals makes one pending evaluation per job with live allocations on
// the node.
func (s *Server) nodeEvals(snap *state.Snapshot, nodeID string) ([]*api.Evaluation, error) {
	allocs, err := snap.AllocsByNode(nodeID)
	if err != nil {
		return nil, err
	}
	seen := map[jobKey]bool{}
	var evals []*api.Evaluation
	for _, a := range allocs {
		key := jobKey{a.Namespace, a.JobID}
		if seen[key] || structs.AllocTerminal(a) {
			continue
		}
		seen[key] = true
		job, err := snap.JobByID(a.Namespace, a.JobID)
		if err != nil {
			return nil, err
		}
		if job == nil {
			continue
		}
		e := newEval(job, structs.EvalTriggerNodeUpdate)
		e.NodeID = nodeID
		evals = append(evals, e)
	}
	return evals, nil
}

// NodeAllocations blocks until the node's allocations change past
// minIndex (or wait passes) and returns them.
func (s *Server) NodeAllocations(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.Allocation, uint64, error) {
	var allocs []*api.Allocation
	index, err := s.State().BlockingQuery(ctx, minIndex, wait, func(snap *state.Snapshot) (uint64, error) {
		var err error
		allocs, err = snap.AllocsByNode(nodeID)
		if err != nil {
			return 0, err
		}
		var index uint64
		for _, a := range allocs {
			index = max(index, a.ModifyIndex)
		}
		// As the client keeps them: with their tasks' events.
		allocs, err = snap.WithTaskEvents(allocs)
		return max(index, 1), err
	})
	return allocs, index, err
}

// NodeClientAllocs blocks until the servers change the node's allocations
// past minIndex (or wait passes) and names them with their
// AllocModifyIndex, as Nomad does: a client's own status updates neither
// answer its long poll nor make it fetch the allocation again.
//
// It waits on the store's notice of server-side changes to the node's
// allocations (state.Store.NodeAllocsChanged), not on a watch of the
// allocations themselves: that would run the query again for every status
// the node's client reports.
//
// With changes set, the answer names only what changed after minIndex
// (state.Store.NodeAllocChanges) once the store can tell it, so that an
// answer costs what changed rather than every allocation the node runs;
// the first answer, and one after the store lost track, lists them all.
func (s *Server) NodeClientAllocs(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration, changes bool) (*structs.NodeClientAllocsReply, error) {
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		store := s.State()
		changed, release := store.NodeAllocsChanged(nodeID)
		var floor uint64
		if changes {
			var (
				list []state.NodeAllocChange
				ok   bool
			)
			list, floor, ok = store.NodeAllocChanges(nodeID, minIndex)
			if ok && len(list) > 0 {
				release()
				return changesReply(store.Snapshot(), list)
			}
			if ok {
				again := waitChange(ctx, changed, store, timeout)
				release()
				if again {
					continue
				}
				return &structs.NodeClientAllocsReply{Changes: true, Index: minIndex}, nil
			}
		}
		list, err := store.Snapshot().AllocsByNode(nodeID)
		if err != nil {
			release()
			return nil, err
		}
		// Everything up to floor is in the listing: a client that asks
		// from there on gets the changes only.
		index := max(1, floor)
		for _, a := range list {
			index = max(index, a.AllocModifyIndex)
		}
		again := false
		if minIndex != 0 && index <= minIndex {
			again = waitChange(ctx, changed, store, timeout)
		}
		release()
		if again {
			continue
		}
		allocs := make(map[string]uint64, len(list))
		for _, a := range list {
			allocs[a.ID] = a.AllocModifyIndex
		}
		return &structs.NodeClientAllocsReply{Allocs: allocs, Index: index}, nil
	}
}

// waitChange waits for changed, reporting true when it closed, or for the
// store's abandonment, the timeout or the end of ctx.
func waitChange(ctx context.Context, changed <-chan struct{}, store *state.Store, timeout *time.Timer) bool {
	select {
	case <-changed:
		return true
	case <-store.AbandonCh():
	case <-timeout.C:
	case <-ctx.Done():
	}
	return false
}

// changesReply is the answer naming a node's allocation changes, oldest
// first (an allocation's last change wins), with the changed allocations
// as snap, taken after the changes were read, holds them.
func changesReply(snap *state.Snapshot, list []state.NodeAllocChange) (*structs.NodeClientAllocsReply, error) {
	reply := &structs.NodeClientAllocsReply{Allocs: make(map[string]uint64, len(list)), Changes: true}
	removed := map[string]bool{}
	for _, c := range list {
		reply.Index = max(reply.Index, c.Index)
		if c.Removed {
			removed[c.ID] = true
			reply.Removed = append(reply.Removed, c.ID)
		}
		reply.Allocs[c.ID] = c.Index
	}
	changed := make([]*api.Allocation, 0, len(reply.Allocs))
	for id := range reply.Allocs {
		if removed[id] {
			delete(reply.Allocs, id)
			continue
		}
		a, err := snap.AllocByIDWithoutMetric(id)
		if err != nil {
			return nil, err
		}
		if a == nil {
			// Removed by a write the log has yet to see.
			delete(reply.Allocs, id)
			reply.Removed = append(reply.Removed, id)
			continue
		}
		reply.Allocs[id] = a.AllocModifyIndex
		changed = append(changed, a)
	}
	reply.Changed = allocsGetReply(changed)
	return reply, nil
}

// AllocsByIDs returns the allocations among ids that exist, for the
// clients that run them: without their placement metric, which a client
// never reads.
func (s *Server) AllocsByIDs(ids []string) ([]*api.Allocation, error) {
	snap := s.State().Snapshot()
	out := make([]*api.Allocation, 0, len(ids))
	for _, id := range ids {
		a, err := snap.AllocByIDWithoutMetric(id)
		if err != nil {
			return nil, err
		}
		if a != nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// UpdateAllocations records what a client reports about its allocations,
// committed with other clients' updates in one batch. Allocations that
// failed get an evaluation (one per job and batch) so the scheduler can
// replace them per the reschedule policy.
func (s *Server) UpdateAllocations(updates []*api.Allocation) error {
	if len(updates) == 0 {
		return nil
	}
	if done, err := s.forward("Node.UpdateAllocs", &structs.AllocUpdateArgs{Allocs: updates}, &structs.IndexReply{}); done {
		return err
	}
	snap := s.State().Snapshot()
	evals := map[jobKey]*api.Evaluation{}
	for _, u := range updates {
		if u.ClientStatus != structs.AllocClientStatusFailed {
			continue
		}
		stored, err := snap.AllocByID(u.ID)
		if err != nil || stored == nil {
			continue
		}
		key := jobKey{stored.Namespace, stored.JobID}
		if evals[key] != nil {
			continue
		}
		if job, _ := snap.JobByID(stored.Namespace, stored.JobID); job != nil {
			evals[key] = newEval(job, structs.EvalTriggerRetryFailedAlloc)
		}
	}
	return s.allocUpdates.submit(updates, evals)
}

// newEval makes a pending evaluation of job.
func newEval(job *api.Job, trigger string) *api.Evaluation {
	id, _ := uuid.GenerateUUID()
	return &api.Evaluation{
		ID:             id,
		Namespace:      *job.Namespace,
		Priority:       *job.Priority,
		Type:           *job.Type,
		TriggeredBy:    trigger,
		JobID:          *job.ID,
		JobModifyIndex: derefU64(job.JobModifyIndex),
		Status:         structs.EvalStatusPending,
	}
}

func derefU64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
