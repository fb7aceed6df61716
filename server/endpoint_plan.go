package server

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/jobspec"
	"github.com/roam-project/roam/scheduler"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// PlanJob runs the scheduler on a job as if it were registered, without
// committing anything, and reports what it would do (`job plan`).
func (s *Server) PlanJob(job *api.Job, diff bool) (*api.JobPlanResponse, error) {
	jobspec.DefaultOperators(job)
	if err := s.validateJob(job); err != nil {
		return nil, err
	}
	snap := s.State().Snapshot()
	existing, err := snap.JobByID(*job.Namespace, *job.ID)
	if err != nil {
		return nil, err
	}
	planned := copyJob(job)
	planned.Stop = ptr(false)
	planned.Status = ptr(structs.JobStatusPending)
	if existing != nil {
		planned.CreateIndex = existing.CreateIndex
		planned.JobModifyIndex = existing.JobModifyIndex
		planned.Version = existing.Version
		if state.SpecChanged(existing, planned) {
			planned.Version = ptr(*existing.Version + 1)
		}
	} else {
		planned.Version = ptr(uint64(0))
	}
	resp := &api.JobPlanResponse{}
	if existing != nil {
		resp.JobModifyIndex = derefU64(existing.JobModifyIndex)
	}
	if diff {
		resp.Diff = JobDiff(existing, planned)
	}
	if isPeriodicOrParameterized(job) {
		return resp, nil
	}
	view := &plannedJobView{Snapshot: snap, job: planned}
	dry := &dryRunPlanner{}
	eval := newEval(planned, structs.EvalTriggerJobRegister)
	sched, err := scheduler.New(*planned.Type, view, dry, scheduler.Options{AnnotatePlan: true, Logger: s.logger, Algorithm: schedulerAlgorithm(snap, derefString(planned.NodePool))})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := sched.Process(eval); err != nil {
		return nil, fmt.Errorf("plan job: %w", err)
	}
	if dry.plan != nil {
		resp.Annotations = dry.plan.Annotations
		annotateDiff(resp.Diff, resp.Annotations)
	}
	if dry.eval != nil {
		resp.FailedTGAllocs = dry.eval.FailedTGAllocs
	}
	resp.CreatedEvals = dry.created
	return resp, nil
}

// plannedJobView is the state as if the planned job were registered.
type plannedJobView struct {
	*state.Snapshot
	job *api.Job
}

func (v *plannedJobView) JobByID(namespace, id string) (*api.Job, error) {
	if namespace == *v.job.Namespace && id == *v.job.ID {
		return v.job, nil
	}
	return v.Snapshot.JobByID(namespace, id)
}

// dryRunPlanner records what a scheduler would commit and commits nothing.
type dryRunPlanner struct {
	plan *structs.Plan
	eval *api.Evaluation
	// created are the evaluations the scheduler would create (a blocked
	// one for what it cannot place), reported as the plan's CreatedEvals.
	created []*api.Evaluation
}

func (d *dryRunPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	d.plan = plan
	return &structs.PlanResult{NodeUpdate: plan.NodeUpdate, NodeAllocation: plan.NodeAllocation}, nil, nil
}

func (d *dryRunPlanner) UpdateEval(eval *api.Evaluation) error {
	d.eval = eval
	return nil
}

func (d *dryRunPlanner) CreateEval(e *api.Evaluation) error {
	d.created = append(d.created, e)
	return nil
}

func (d *dryRunPlanner) ReblockEval(*api.Evaluation) error { return nil }

// annotateDiff adds to each task group of a plan's diff the counts of what
// the scheduler would do, under the names `job plan` prints them with.
func annotateDiff(diff *api.JobDiff, ann *api.PlanAnnotations) {
	if diff == nil || ann == nil {
		return
	}
	for _, tg := range diff.TaskGroups {
		u := ann.DesiredTGUpdates[tg.Name]
		if u == nil {
			continue
		}
		counts := map[string]uint64{
			"ignore":                u.Ignore,
			"create":                u.Place,
			"destroy":               u.Stop,
			"migrate":               u.Migrate,
			"in-place update":       u.InPlaceUpdate,
			"create/destroy update": u.DestructiveUpdate,
			"canary":                u.Canary,
		}
		tg.Updates = map[string]uint64{}
		for k, v := range counts {
			if v > 0 {
				tg.Updates[k] = v
			}
		}
		annotateGroupChanges(tg, u)
	}
}

// annotateGroupChanges marks, as Nomad's plan does, what a group's changes
// force: a count field "forces create" or "forces destroy", and each changed
// task "forces create", "forces destroy", "forces create/destroy update" or
// "forces in-place update", as the scheduler decided for the group.
func annotateGroupChanges(tg *api.TaskGroupDiff, u *api.DesiredUpdates) {
	for _, f := range tg.Fields {
		if f.Name != "Count" || f.Type != "Edited" {
			continue
		}
		oldCount, _ := strconv.Atoi(f.Old)
		newCount, _ := strconv.Atoi(f.New)
		switch {
		case newCount > oldCount:
			f.Annotations = []string{"forces create"}
		case newCount < oldCount:
			f.Annotations = []string{"forces destroy"}
		}
	}
	for _, t := range tg.Tasks {
		switch {
		case t.Type == "Added":
			t.Annotations = []string{"forces create"}
		case t.Type == "Deleted":
			t.Annotations = []string{"forces destroy"}
		case t.Type != "Edited":
		case u.DestructiveUpdate > 0:
			t.Annotations = []string{"forces create/destroy update"}
		case u.InPlaceUpdate > 0:
			t.Annotations = []string{"forces in-place update"}
		}
	}
}
