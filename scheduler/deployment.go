package scheduler

import (
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// rollout is what an evaluation knows of the job's deployment: the one its
// placements belong to and how many destructive updates each group may
// still start.
type rollout struct {
	// current is the deployment of the evaluated job version, if any.
	current *api.Deployment
	// created marks current as made by this evaluation.
	created bool
	// budget holds, per group with an update strategy, how many
	// destructive updates may start now; groups absent are not limited.
	budget map[string]int
	// canaries and staleCanaries are planCanaries' answer.
	canaries      map[string]*canaryGroup
	staleCanaries map[deploymentGroup]bool
	// desiredCanaries holds, per group the reconciler put through
	// canaries, how many a new deployment wants.
	desiredCanaries map[string]int
}

// rolling reports whether a group's updates are rolled out in a deployment.
func rolling(tg *api.TaskGroup) bool {
	return tg.Update != nil && deref(tg.Update.MaxParallel) > 0
}

// deploys reports whether the job's version changes go through deployments:
// a running service job with at least one rolling group.
func (run *evalRun) deploys() bool {
	if run.job == nil || deref(run.job.Stop) || run.s.batch || run.s.system {
		return false
	}
	for _, tg := range run.job.TaskGroups {
		if rolling(tg) {
			return true
		}
	}
	return false
}

// planRollout reads the job's latest deployment, cancels it when it tracks
// an older version (or the job stopped), and works out the update budgets.
func (run *evalRun) planRollout() (*rollout, error) {
	r := &rollout{budget: make(map[string]int)}
	if run.job == nil {
		return r, run.cancelPurgedDeployment()
	}
	latest, err := run.state.LatestDeploymentByJob(run.namespace(), deref(run.job.ID))
	if err != nil {
		return nil, fmt.Errorf("read deployment of job %q: %w", deref(run.job.ID), err)
	}
	if latest != nil && run.tracksJob(latest) && !deref(run.job.Stop) {
		r.current = latest
	} else if structs.DeploymentActive(latest) {
		desc := structs.DeploymentDescNewerJob
		if deref(run.job.Stop) {
			desc = structs.DeploymentDescStoppedJob
		}
		run.plan.DeploymentUpdates = append(run.plan.DeploymentUpdates, &structs.DeploymentStatusUpdate{
			DeploymentID: latest.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: desc,
		})
	}
	r.canaries, r.staleCanaries = run.planCanaries(latest, r.current)
	if !run.deploys() {
		return r, nil
	}
	for _, tg := range run.job.TaskGroups {
		if rolling(tg) {
			r.budget[deref(tg.Name)] = run.groupBudget(r.current, tg)
		}
	}
	return r, nil
}

// cancelPurgedDeployment cancels the latest deployment of a purged job if
// it is still active.
func (run *evalRun) cancelPurgedDeployment() error {
	latest, err := run.state.LatestDeploymentByJob(run.namespace(), run.eval.JobID)
	if err != nil {
		return fmt.Errorf("read deployment of job %q: %w", run.eval.JobID, err)
	}
	if structs.DeploymentActive(latest) {
		run.plan.DeploymentUpdates = append(run.plan.DeploymentUpdates, &structs.DeploymentStatusUpdate{
			DeploymentID: latest.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: structs.DeploymentDescStoppedJob,
		})
	}
	return nil
}

// tracksJob reports whether d is the deployment of the evaluated version.
func (run *evalRun) tracksJob(d *api.Deployment) bool {
	return d.JobVersion == deref(run.job.Version) && d.JobCreateIndex == deref(run.job.CreateIndex)
}

// groupBudget is max_parallel less the group's placements in d that are
// not yet healthy. A paused or failed deployment starts no more updates.
func (run *evalRun) groupBudget(d *api.Deployment, tg *api.TaskGroup) int {
	if d == nil {
		return deref(tg.Update.MaxParallel)
	}
	if d.Status == structs.DeploymentStatusPaused || d.Status == structs.DeploymentStatusFailed {
		return 0
	}
	pending := 0
	for _, a := range run.allocs {
		if a.DeploymentID != d.ID || a.TaskGroup != deref(tg.Name) || structs.AllocTerminal(a) {
			continue
		}
		if a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil || !*a.DeploymentStatus.Healthy {
			pending++
		}
	}
	return max(deref(tg.Update.MaxParallel)-pending, 0)
}

// attach gives the rollout a deployment when the plan changes what the
// job runs, or wants to and finds no node, and none tracks this version
// yet (as in Nomad, a service job registered before any client has a
// deployment), and points the plan's new and updated allocations of
// rolling groups at it.
func (r *rollout) attach(run *evalRun) {
	if !run.deploys() {
		return
	}
	if r.current == nil && (run.changesAllocs() || len(run.failed) > 0) {
		r.current = run.newDeployment(r.desiredCanaries)
		r.created = true
		run.plan.Deployment = r.current
	}
	if r.current == nil || !structs.DeploymentActive(r.current) {
		return
	}
	run.deploymentID = r.current.ID
	for _, allocs := range run.plan.NodeAllocation {
		for _, a := range allocs {
			tg := run.job.LookupTaskGroup(a.TaskGroup)
			if tg == nil || !rolling(tg) || a.DeploymentID == r.current.ID {
				continue
			}
			// Only a new allocation (no deployment yet) keeps its canary mark.
			canary := a.DeploymentID == "" && isCanary(a)
			a.DeploymentID = r.current.ID
			a.DeploymentStatus = nil
			if canary {
				a.DeploymentStatus = &api.AllocDeploymentStatus{Canary: true}
			}
		}
	}
}

// changesAllocs reports whether the plan places or updates allocations.
func (run *evalRun) changesAllocs() bool {
	return len(run.plan.NodeAllocation) > 0
}

// newDeployment is a running deployment of the evaluated job version;
// canaries holds the groups that start with canaries, and how many.
func (run *evalRun) newDeployment(canaries map[string]int) *api.Deployment {
	job := run.job
	d := &api.Deployment{
		ID:                 newUUID(run.s.opts.Rand),
		Namespace:          run.namespace(),
		JobID:              deref(job.ID),
		JobVersion:         deref(job.Version),
		JobModifyIndex:     deref(job.ModifyIndex),
		JobSpecModifyIndex: deref(job.JobModifyIndex),
		JobCreateIndex:     deref(job.CreateIndex),
		TaskGroups:         make(map[string]*api.DeploymentState),
		Status:             structs.DeploymentStatusRunning,
		StatusDescription:  structs.DeploymentDescRunning,
	}
	for _, tg := range job.TaskGroups {
		if !rolling(tg) {
			continue
		}
		u := tg.Update
		st := &api.DeploymentState{
			AutoRevert:       deref(u.AutoRevert),
			DesiredCanaries:  canaries[deref(tg.Name)],
			ProgressDeadline: deref(u.ProgressDeadline),
			DesiredTotal:     deref(tg.Count),
		}
		if st.ProgressDeadline > 0 {
			st.RequireProgressBy = run.now.Add(st.ProgressDeadline).UTC()
		}
		d.TaskGroups[deref(tg.Name)] = st
	}
	return d
}
