package server

import (
	"context"
	"time"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// gcInterval is how often the leader collects garbage on its own.
const gcInterval = 5 * time.Minute

// gcThreshold is how old terminal objects must be before the periodic
// collector removes them; a forced collection (`system gc`) ignores it.
const gcThreshold = 4 * time.Hour

// DefaultACLTokenGCThreshold is how long an expired ACL token is kept
// before the periodic collector removes it, as Nomad's
// acl_token_gc_threshold default.
const DefaultACLTokenGCThreshold = time.Hour

// runGC collects garbage periodically while this server leads.
func (s *Server) runGC(ctx context.Context) {
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.collectGarbage(gcThreshold); err != nil {
				s.logger.Warn("garbage collection", "error", err)
			}
		}
	}
}

// GarbageCollect forces a collection of everything eligible now.
func (s *Server) GarbageCollect(token string) error {
	if done, err := s.forward("System.GarbageCollect", &structs.WriteRequest{AuthToken: token}, &structs.IndexReply{}); done {
		return err
	}
	return s.collectGarbage(0)
}

// collectGarbage removes terminal evaluations and allocations older than
// threshold, stopped jobs with nothing left running, what purged jobs left
// once finished, down nodes with no allocations, expired one-time
// tokens, and ACL tokens expired for longer than the ACL token GC
// threshold (any expired one when forced).
func (s *Server) collectGarbage(threshold time.Duration) error {
	if err := s.expireOneTimeTokens(time.Now()); err != nil {
		return err
	}
	tokenThreshold := s.config.ACLTokenGCThreshold
	if tokenThreshold == 0 {
		tokenThreshold = DefaultACLTokenGCThreshold
	}
	if threshold == 0 {
		tokenThreshold = 0
	}
	if err := s.collectExpiredTokens(time.Now().Add(-tokenThreshold)); err != nil {
		return err
	}
	snap := s.State().Snapshot()
	cutoff := time.Now().Add(-threshold).UnixNano()
	req := &structs.GCRequest{}
	jobs, err := snap.Jobs("*", "")
	if err != nil {
		return err
	}
	exists := make(map[structs.NamespacedID]bool, len(jobs))
	for _, job := range jobs {
		exists[structs.NamespacedID{Namespace: *job.Namespace, ID: *job.ID}] = true
		s.gcJob(snap, job.Namespace, job.ID, job.Stop, job.Status, *job.Type, cutoff, req)
	}
	if err := gcPurged(snap, exists, cutoff, req); err != nil {
		return err
	}
	nodes, err := snap.Nodes()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown {
			continue
		}
		allocs, err := snap.AllocsByNode(n.ID)
		if err != nil {
			return err
		}
		if len(allocs) == 0 && n.StatusUpdatedAt*1e9 <= cutoff {
			req.NodeIDs = append(req.NodeIDs, n.ID)
		}
	}
	if len(req.Jobs)+len(req.EvalIDs)+len(req.AllocIDs)+len(req.NodeIDs)+len(req.DeploymentIDs) == 0 {
		return nil
	}
	_, err = s.raftApply(structs.GCRequestType, req)
	for _, id := range req.NodeIDs {
		s.beats.Clear(id)
	}
	return err
}

// gcJob adds a job's collectable parts to req: its terminal evaluations
// and allocations, and the job itself once stopped and finished.
func (s *Server) gcJob(snap *state.Snapshot, ns, id *string, stop *bool, status *string, jobType string, cutoff int64, req *structs.GCRequest) {
	evals, _ := snap.EvalsByJob(*ns, *id)
	allocs, _ := snap.AllocsByJob(*ns, *id)
	live := false
	for _, e := range evals {
		if e.Status == structs.EvalStatusPending || e.Status == structs.EvalStatusBlocked {
			live = true
		}
	}
	var terminalAllocs []string
	for _, a := range allocs {
		if structs.AllocTerminal(a) && structs.AllocClientTerminal(a) && a.ModifyTime <= cutoff {
			terminalAllocs = append(terminalAllocs, a.ID)
		} else {
			live = true
		}
	}
	dead := status != nil && *status == structs.JobStatusDead
	stopped := stop != nil && *stop
	if !live && dead && (stopped || jobType == structs.JobTypeBatch) {
		req.Jobs = append(req.Jobs, structs.NamespacedID{Namespace: *ns, ID: *id})
	}
	if live && !dead {
		return
	}
	for _, e := range evals {
		if e.Status != structs.EvalStatusPending && e.Status != structs.EvalStatusBlocked && e.ModifyTime <= cutoff {
			req.EvalIDs = append(req.EvalIDs, e.ID)
		}
	}
	req.AllocIDs = append(req.AllocIDs, terminalAllocs...)
}

// gcPurged adds to req what purged jobs left behind (exists names the jobs
// still stored): their finished allocations and evaluations, and their
// deployments once terminal.
func gcPurged(snap *state.Snapshot, exists map[structs.NamespacedID]bool, cutoff int64, req *structs.GCRequest) error {
	purged := func(ns, id string) bool { return !exists[structs.NamespacedID{Namespace: ns, ID: id}] }
	allocs, err := snap.Allocs("")
	if err != nil {
		return err
	}
	for _, a := range allocs {
		if purged(a.Namespace, a.JobID) && structs.AllocClientTerminal(a) && a.ModifyTime <= cutoff {
			req.AllocIDs = append(req.AllocIDs, a.ID)
		}
	}
	evals, err := snap.Evals("")
	if err != nil {
		return err
	}
	for _, e := range evals {
		if purged(e.Namespace, e.JobID) && e.Status != structs.EvalStatusPending && e.Status != structs.EvalStatusBlocked && e.ModifyTime <= cutoff {
			req.EvalIDs = append(req.EvalIDs, e.ID)
		}
	}
	deployments, err := snap.Deployments("")
	if err != nil {
		return err
	}
	for _, d := range deployments {
		if purged(d.Namespace, d.JobID) && !structs.DeploymentActive(d) && d.ModifyTime <= cutoff {
			req.DeploymentIDs = append(req.DeploymentIDs, d.ID)
		}
	}
	return nil
}
