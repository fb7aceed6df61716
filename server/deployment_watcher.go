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

// runDeploymentWatcher is the leader's deployment loop: it follows the
// health the clients report for the allocations of active deployments,
// through blocking queries on the deployments and allocations tables,
// records their counts, asks the scheduler for the next batch when
// allocations turn healthy, and ends each deployment as successful or
// failed (progress deadlines included).
func (s *Server) runDeploymentWatcher(ctx context.Context) {
	var index uint64
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
		s.checkDeployments(store.Snapshot())
	}
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

// checkDeployments brings every active deployment up to date.
func (s *Server) checkDeployments(snap *state.Snapshot) {
	all, err := snap.Deployments("")
	if err != nil {
		s.logger.Error("deployment watcher: list deployments", "error", err)
		return
	}
	for _, d := range all {
		if !structs.DeploymentActive(d) {
			continue
		}
		if err := s.checkDeployment(snap, d); err != nil {
			s.logger.Warn("deployment watcher", "deployment_id", d.ID, "error", err)
		}
	}
}

// checkDeployment recounts one deployment's allocations and commits what
// changed: counts, a next-batch evaluation, success or failure.
func (s *Server) checkDeployment(snap *state.Snapshot, d *api.Deployment) error {
	allocs, err := snap.AllocsByJob(d.Namespace, d.JobID)
	if err != nil {
		return err
	}
	next, progressed := recount(d, allocs, time.Now())
	canaries := healthyCanaries(d, allocs)
	job, err := snap.JobByID(d.Namespace, d.JobID)
	if err != nil {
		return err
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
		return err
	case allHealthy(next):
		next.Status, next.StatusDescription = structs.DeploymentStatusSuccessful, structs.DeploymentDescSuccessful
	case readyForPromotion(next, canaries):
		next.StatusDescription = structs.DeploymentDescNeedsPromotion
	}
	if desc != "" {
		_, err := s.failDeployment(snap, next, desc)
		return err
	}
	if !progressed && !countsChanged(d, next) && next.Status == d.Status && next.StatusDescription == d.StatusDescription {
		return nil
	}
	req := &structs.DeploymentUpsertRequest{Deployments: []*api.Deployment{next}, Time: time.Now().UnixNano()}
	if next.Status == structs.DeploymentStatusSuccessful {
		req.StableJob = &structs.JobVersionRef{Namespace: d.Namespace, JobID: d.JobID, Version: d.JobVersion}
	} else if progressed {
		if job != nil {
			req.Evals = append(req.Evals, deploymentEval(job, d.ID))
		}
	}
	if _, err = s.raftApply(structs.DeploymentUpsertRequestType, req); err != nil {
		return err
	}
	if next.Status == structs.DeploymentStatusSuccessful {
		s.multiregionDeploymentEnded(snap, d, true, next.StatusDescription)
	}
	return nil
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
