package server

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// deploymentIdleWait bounds a watcher wait when no deadline is near.
const deploymentIdleWait = 5 * time.Minute

// deploymentBatchWait is the pause between two passes of the watcher, so
// that one pass takes in the health reports of many clients.
const deploymentBatchWait = 100 * time.Millisecond

// runDeploymentWatcher is the leader's deployment loop: it follows the
// health the clients report for the allocations of active deployments,
// through blocking queries on the deployments and allocations tables,
// records their counts, asks the scheduler for the next batch when
// allocations turn healthy, and ends each deployment as successful or
// failed (progress deadlines included).
func (s *Server) runDeploymentWatcher(ctx context.Context) {
	var index uint64
	marks := map[string]deploymentMark{}
	for ctx.Err() == nil {
		store := s.State()
		wait := deploymentIdleWait
		if next := nextProgressDeadline(store.Snapshot()); !next.IsZero() {
			wait = max(time.Until(next), 10*time.Millisecond)
		}
		seen, err := store.BlockingQuery(ctx, index, wait, func(snap *state.Snapshot) (uint64, error) {
			return snap.Index("deployments", "allocs"), nil
		})
		if err != nil || ctx.Err() != nil {
			return
		}
		index = max(seen, 1)
		s.checkDeployments(store.Snapshot(), marks)
		// Changes arriving meanwhile are taken together in the next pass.
		select {
		case <-ctx.Done():
		case <-time.After(deploymentBatchWait):
		}
	}
}

// deploymentMark is what a deployment's last check saw: its own modify
// index and its job summary's, which moves with every change to the job's
// allocations (health included). A deployment whose marks have not moved,
// and whose progress deadline is still ahead, needs no recount.
type deploymentMark struct {
	deployment, allocs uint64
}

// markOf is d's mark in snap.
func markOf(snap *state.Snapshot, d *api.Deployment) deploymentMark {
	m := deploymentMark{deployment: d.ModifyIndex}
	if sum, err := snap.JobSummary(d.Namespace, d.JobID); err == nil && sum != nil {
		m.allocs = sum.ModifyIndex
	}
	return m
}

// deadlineAhead reports whether every group's progress deadline of d is
// after now (or unset).
func deadlineAhead(d *api.Deployment, now time.Time) bool {
	for _, st := range d.TaskGroups {
		if st.ProgressDeadline > 0 && !st.RequireProgressBy.IsZero() && !st.RequireProgressBy.After(now) {
			return false
		}
	}
	return true
}

// nextProgressDeadline is the earliest progress deadline of a running
// deployment, or zero.
func nextProgressDeadline(snap *state.Snapshot) time.Time {
	all, err := snap.Deployments("")
	if err != nil {
		return time.Time{}
	}
	var next time.Time
	for _, d := range all {
		if d.Status != structs.DeploymentStatusRunning {
			continue
		}
		for _, st := range d.TaskGroups {
			by := st.RequireProgressBy
			if st.ProgressDeadline > 0 && !by.IsZero() && (next.IsZero() || by.Before(next)) {
				next = by
			}
		}
	}
	return next
}

// checkDeployments brings every active deployment whose allocations
// changed up to date. The counts and next-batch evaluations of all of them
// go to Raft in one entry.
func (s *Server) checkDeployments(snap *state.Snapshot, marks map[string]deploymentMark) {
	all, err := snap.Deployments("")
	if err != nil {
		s.logger.Error("deployment watcher: list deployments", "error", err)
		return
	}
	now := time.Now()
	batch := &structs.DeploymentUpsertRequest{Time: now.UnixNano()}
	active := map[string]bool{}
	for _, d := range all {
		if !structs.DeploymentActive(d) {
			continue
		}
		active[d.ID] = true
		mark := markOf(snap, d)
		if old, ok := marks[d.ID]; ok && old == mark && deadlineAhead(d, now) {
			continue
		}
		marks[d.ID] = mark
		req, err := s.checkDeployment(snap, d)
		if err != nil {
			s.logger.Warn("deployment watcher", "deployment_id", d.ID, "error", err)
			continue
		}
		if req == nil {
			continue
		}
		if req.StableJob != nil {
			if _, err := s.raftApply(structs.DeploymentUpsertRequestType, req); err != nil {
				s.logger.Warn("deployment watcher", "deployment_id", d.ID, "error", err)
				continue
			}
			s.multiregionDeploymentEnded(snap, d, true, structs.DeploymentDescSuccessful)
			continue
		}
		batch.Deployments = append(batch.Deployments, req.Deployments...)
		batch.Evals = append(batch.Evals, req.Evals...)
	}
	for id := range marks {
		if !active[id] {
			delete(marks, id)
		}
	}
	if len(batch.Deployments) > 0 {
		if _, err := s.raftApply(structs.DeploymentUpsertRequestType, batch); err != nil {
			s.logger.Warn("deployment watcher", "deployments", len(batch.Deployments), "error", err)
		}
	}
}

// checkDeployment recounts one deployment's allocations. It commits a
// failure or a promotion itself, and returns the update to commit for
// anything else that changed (counts, a next-batch evaluation, success),
// or nil.
func (s *Server) checkDeployment(snap *state.Snapshot, d *api.Deployment) (*structs.DeploymentUpsertRequest, error) {
	allocs, err := snap.AllocsByJob(d.Namespace, d.JobID)
	if err != nil {
		return nil, err
	}
	next, progressed := recount(d, allocs, time.Now())
	canaries := healthyCanaries(d, allocs)
	job, err := snap.JobByID(d.Namespace, d.JobID)
	if err != nil {
		return nil, err
	}
	desc := ""
	switch {
	case next.Status != structs.DeploymentStatusRunning:
	case anyUnhealthy(next):
		desc = structs.DeploymentDescFailedAllocations
	case deadlinePassed(next, canaries, time.Now()):
		desc = structs.DeploymentDescProgressDeadline
	case autoPromotable(job, next, canaries):
		_, err := s.promoteGroups(snap, next, nil)
		return nil, err
	case allHealthy(next):
		next.Status, next.StatusDescription = structs.DeploymentStatusSuccessful, structs.DeploymentDescSuccessful
	case readyForPromotion(next, canaries):
		next.StatusDescription = structs.DeploymentDescNeedsPromotion
	}
	if desc != "" {
		_, err := s.failDeployment(snap, next, desc)
		return nil, err
	}
	if !progressed && !countsChanged(d, next) && next.Status == d.Status && next.StatusDescription == d.StatusDescription {
		return nil, nil
	}
	req := &structs.DeploymentUpsertRequest{Deployments: []*api.Deployment{next}, Time: time.Now().UnixNano()}
	if next.Status == structs.DeploymentStatusSuccessful {
		req.StableJob = &structs.JobVersionRef{Namespace: d.Namespace, JobID: d.JobID, Version: d.JobVersion}
	} else if progressed && !allPlaced(next) {
		if job != nil {
			req.Evals = append(req.Evals, deploymentEval(job, d.ID))
		}
	}
	return req, nil
}

// allPlaced reports whether every group of d has all its allocations
// placed and wants no canaries: more healthy allocations then leave the
// scheduler nothing to do.
func allPlaced(d *api.Deployment) bool {
	for _, st := range d.TaskGroups {
		if st.DesiredCanaries > 0 || st.PlacedAllocs < st.DesiredTotal {
			return false
		}
	}
	return true
}

// recount is a copy of d with its allocation counts taken from allocs, and
// whether more of them are healthy than before (which moves each group's
// progress deadline on).
func recount(d *api.Deployment, allocs []*api.Allocation, now time.Time) (*api.Deployment, bool) {
	next := *d
	next.TaskGroups = make(map[string]*api.DeploymentState, len(d.TaskGroups))
	for name, st := range d.TaskGroups {
		c := *st
		c.PlacedAllocs, c.HealthyAllocs, c.UnhealthyAllocs = 0, 0, 0
		c.PlacedCanaries = nil
		next.TaskGroups[name] = &c
	}
	for _, a := range allocs {
		st := next.TaskGroups[a.TaskGroup]
		if a.DeploymentID != d.ID || st == nil {
			continue
		}
		st.PlacedAllocs++
		if a.DeploymentStatus != nil && a.DeploymentStatus.Canary {
			st.PlacedCanaries = append(st.PlacedCanaries, a.ID)
		}
		if h := a.DeploymentStatus; h != nil && h.Healthy != nil {
			if *h.Healthy {
				st.HealthyAllocs++
			} else {
				st.UnhealthyAllocs++
			}
		}
	}
	progressed := false
	for name, st := range next.TaskGroups {
		if st.HealthyAllocs > d.TaskGroups[name].HealthyAllocs {
			progressed = true
			if st.ProgressDeadline > 0 {
				st.RequireProgressBy = now.Add(st.ProgressDeadline).UTC()
			}
		}
	}
	return &next, progressed
}

func countsChanged(a, b *api.Deployment) bool {
	for name, x := range a.TaskGroups {
		y := b.TaskGroups[name]
		if len(x.PlacedCanaries) != len(y.PlacedCanaries) || x.PlacedAllocs != y.PlacedAllocs || x.HealthyAllocs != y.HealthyAllocs || x.UnhealthyAllocs != y.UnhealthyAllocs {
			return true
		}
	}
	return false
}

func anyUnhealthy(d *api.Deployment) bool {
	for _, st := range d.TaskGroups {
		if st.UnhealthyAllocs > 0 {
			return true
		}
	}
	return false
}

func allHealthy(d *api.Deployment) bool {
	for _, st := range d.TaskGroups {
		if st.HealthyAllocs < st.DesiredTotal || awaitsPromotion(st) {
			return false
		}
	}
	return true
}

// deadlinePassed reports whether a group missed its progress deadline;
// a group whose healthy canaries await promotion waits on the user, not
// on progress.
func deadlinePassed(d *api.Deployment, canaries map[string]int, now time.Time) bool {
	for name, st := range d.TaskGroups {
		if awaitsPromotion(st) && canaries[name] >= st.DesiredCanaries {
			continue
		}
		if st.ProgressDeadline > 0 && !st.RequireProgressBy.IsZero() && now.After(st.RequireProgressBy) && st.HealthyAllocs < st.DesiredTotal {
			return true
		}
	}
	return false
}

// deploymentEval is an evaluation of job on behalf of a deployment.
func deploymentEval(job *api.Job, deploymentID string) *api.Evaluation {
	e := newEval(job, structs.EvalTriggerDeploymentWatcher)
	e.DeploymentID = deploymentID
	return e
}
