// Package scheduler turns an evaluation into a plan for the service,
// batch, system and sysbatch job types: it reconciles a job's desired
// allocations against the existing ones, filters and ranks nodes for new placements, and submits
// the plan through a Planner. It works over a read-only State view and
// needs no server or network, so it is tested with in-memory fakes of both.
package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// State is the read-only view of the cluster a scheduler works from.
type State interface {
	// JobByID returns the job, or nil and no error when it is absent.
	JobByID(namespace, id string) (*api.Job, error)
	// AllocsByJob returns all allocations of the job, any version, any status.
	AllocsByJob(namespace, jobID string) ([]*api.Allocation, error)
	// NodeUsage returns what the node's non-terminal allocations hold
	// (structs.NodeUsageOf its allocations), or nil when it has none. The
	// result is read-only.
	NodeUsage(nodeID string) (*structs.NodeUsage, error)
	// AllocByID returns one allocation in full, its placement metric
	// included (the lists above may leave metrics out), or nil and no
	// error when it is absent.
	AllocByID(id string) (*api.Allocation, error)
	// Nodes returns every node, any status.
	Nodes() ([]*api.Node, error)
	// NodeByID returns the node, or nil and no error when it is absent.
	NodeByID(id string) (*api.Node, error)
	// LatestDeploymentByJob returns the job's newest deployment, or nil
	// and no error when it has none.
	LatestDeploymentByJob(namespace, jobID string) (*api.Deployment, error)
}

// Planner commits plans and evaluations on the scheduler's behalf.
type Planner interface {
	// SubmitPlan hands a plan to the plan applier. When the result shows a
	// partial commit (RefreshIndex != 0) the returned State is a fresh view
	// to retry from.
	SubmitPlan(plan *structs.Plan) (*structs.PlanResult, State, error)
	// UpdateEval writes back the evaluation's status, FailedTGAllocs,
	// QueuedAllocations, BlockedEval and so on.
	UpdateEval(eval *api.Evaluation) error
	// CreateEval creates a new evaluation, such as a blocked one.
	CreateEval(eval *api.Evaluation) error
	// ReblockEval returns a blocked evaluation that still cannot place to
	// the blocked set.
	ReblockEval(eval *api.Evaluation) error
}

// Scheduler processes one evaluation at a time.
type Scheduler interface {
	// Process computes and submits the plan for eval and records the
	// outcome on it through the Planner.
	Process(eval *api.Evaluation) error
}

// Options tune a scheduler.
type Options struct {
	// AnnotatePlan fills plan.Annotations (DesiredTGUpdates) for `job plan`.
	AnnotatePlan bool
	// Logger receives one line per notable event; nil discards.
	Logger *slog.Logger
	// Algorithm ranks nodes: "binpack" (the default) favours the fullest
	// nodes that fit, "spread" the emptiest, as the scheduler
	// configuration's SchedulerAlgorithm says.
	Algorithm api.SchedulerAlgorithm
	// Rand drives node shuffling, port picks and IDs; nil uses a random
	// seed. Set it for deterministic tests.
	Rand *rand.Rand
}

// maxPlanAttempts bounds how often a partly rejected plan is recomputed.
const maxPlanAttempts = 5

// ErrUnknownJobType is returned by New for a job type it cannot schedule.
var ErrUnknownJobType = errors.New("unknown job type")

// New returns the scheduler for jobType: "service", "batch", "system" or
// "sysbatch".
func New(jobType string, state State, planner Planner, opts Options) (Scheduler, error) {
	if state == nil || planner == nil {
		return nil, errors.New("scheduler needs a state and a planner")
	}
	switch jobType {
	case structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysbatch:
	default:
		return nil, fmt.Errorf("new scheduler for %q: %w", jobType, ErrUnknownJobType)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &genericScheduler{
		batch:   jobType == structs.JobTypeBatch || jobType == structs.JobTypeSysbatch,
		system:  jobType == structs.JobTypeSystem || jobType == structs.JobTypeSysbatch,
		state:   state,
		planner: planner,
		opts:    opts,
	}, nil
}

// genericScheduler schedules every job type. Batch types keep finished
// allocations; system types run one allocation per group on every node
// that can run it instead of a count placed on the best nodes.
type genericScheduler struct {
	batch   bool
	system  bool
	state   State
	planner Planner
	opts    Options
}

// Process computes a plan for eval, submits it and retries from a fresh
// state when the plan applier commits only part of it.
func (s *genericScheduler) Process(eval *api.Evaluation) error {
	state := s.state
	log := s.opts.Logger.With("eval_id", eval.ID, "job_id", eval.JobID)
	for attempt := 1; ; attempt++ {
		run, err := newEvalRun(s, eval, state)
		if errors.Is(err, errMalformedJob) {
			return s.failEval(eval, err.Error())
		}
		if err != nil {
			return fmt.Errorf("evaluation %s: %w", eval.ID, err)
		}
		if err := run.compute(); err != nil {
			return fmt.Errorf("evaluation %s: %w", eval.ID, err)
		}
		if run.plan.IsNoOp() && !run.annotate {
			return s.finish(run)
		}
		result, fresh, err := s.planner.SubmitPlan(run.plan)
		if err != nil {
			return fmt.Errorf("evaluation %s: submit plan: %w", eval.ID, err)
		}
		if err := s.createFollowups(run); err != nil {
			return fmt.Errorf("evaluation %s: %w", eval.ID, err)
		}
		full, expected, actual := result.FullCommit(run.plan)
		if full && result.RefreshIndex == 0 {
			log.Debug("plan committed", "placed", expected, "failed_groups", len(run.failed))
			return s.finish(run)
		}
		log.Debug("plan partly committed", "attempt", attempt, "expected", expected, "actual", actual)
		if attempt >= maxPlanAttempts {
			return s.failMaxAttempts(run)
		}
		if fresh != nil {
			state = fresh
		}
	}
}

// createFollowups creates the evaluations that reschedule failed
// allocations later. They are created once the plan that points the
// allocations at them was submitted, so that by the time one runs it sees
// which allocations are its own; a plan committed only in part may leave
// one with nothing to do, which is harmless. Dry runs create none.
func (s *genericScheduler) createFollowups(run *evalRun) error {
	if run.annotate {
		return nil
	}
	for _, f := range run.followups {
		if err := s.planner.CreateEval(f); err != nil {
			return fmt.Errorf("create follow-up evaluation: %w", err)
		}
	}
	return nil
}

// finish records the outcome of a committed plan: a blocked evaluation for
// what could not be placed, and the evaluation's final status.
func (s *genericScheduler) finish(run *evalRun) error {
	eval := run.eval
	if len(run.failed) > 0 && eval.Status == structs.EvalStatusBlocked {
		reblocked := *eval
		run.writeOutcome(&reblocked)
		if err := s.planner.ReblockEval(&reblocked); err != nil {
			return fmt.Errorf("reblock evaluation %s: %w", eval.ID, err)
		}
		return nil
	}
	updated := *eval
	if len(run.failed) > 0 && !s.system {
		blocked := run.blockedEval(structs.EvalTriggerQueuedAllocs, "created to place remaining allocations")
		if err := s.planner.CreateEval(blocked); err != nil {
			return fmt.Errorf("create blocked evaluation for %s: %w", eval.ID, err)
		}
		updated.BlockedEval = blocked.ID
	}
	run.writeOutcome(&updated)
	updated.Status = structs.EvalStatusComplete
	updated.StatusDescription = ""
	if err := s.planner.UpdateEval(&updated); err != nil {
		return fmt.Errorf("update evaluation %s: %w", eval.ID, err)
	}
	return nil
}

// failMaxAttempts fails the evaluation after too many partly rejected
// plans, leaving a blocked evaluation to try again later.
func (s *genericScheduler) failMaxAttempts(run *evalRun) error {
	blocked := run.blockedEval(structs.EvalTriggerMaxPlans, "created due to placement conflicts")
	if err := s.planner.CreateEval(blocked); err != nil {
		return fmt.Errorf("create blocked evaluation for %s: %w", run.eval.ID, err)
	}
	updated := *run.eval
	run.writeOutcome(&updated)
	updated.BlockedEval = blocked.ID
	updated.Status = structs.EvalStatusFailed
	updated.StatusDescription = fmt.Sprintf("maximum attempts reached (%d)", maxPlanAttempts)
	if err := s.planner.UpdateEval(&updated); err != nil {
		return fmt.Errorf("update evaluation %s: %w", run.eval.ID, err)
	}
	return nil
}

// failEval marks the evaluation failed for a reason retrying cannot cure.
func (s *genericScheduler) failEval(eval *api.Evaluation, desc string) error {
	updated := *eval
	updated.Status = structs.EvalStatusFailed
	updated.StatusDescription = desc
	updated.ModifyTime = time.Now().UnixNano()
	if err := s.planner.UpdateEval(&updated); err != nil {
		return fmt.Errorf("update evaluation %s: %w", eval.ID, err)
	}
	return nil
}

// blockedEval is a new blocked evaluation for the job of run's evaluation.
func (run *evalRun) blockedEval(trigger, desc string) *api.Evaluation {
	eval := run.eval
	now := time.Now().UnixNano()
	return &api.Evaluation{
		ID:                   newUUID(run.s.opts.Rand),
		Namespace:            eval.Namespace,
		Priority:             eval.Priority,
		Type:                 eval.Type,
		TriggeredBy:          trigger,
		JobID:                eval.JobID,
		JobModifyIndex:       eval.JobModifyIndex,
		Status:               structs.EvalStatusBlocked,
		StatusDescription:    desc,
		PreviousEval:         eval.ID,
		EscapedComputedClass: true,
		QueuedAllocations:    run.queued,
		CreateTime:           now,
		ModifyTime:           now,
	}
}

// writeOutcome copies what the run learnt onto eval.
func (run *evalRun) writeOutcome(eval *api.Evaluation) {
	eval.FailedTGAllocs = nil
	if len(run.failed) > 0 {
		eval.FailedTGAllocs = run.failed
	}
	eval.QueuedAllocations = run.queued
	if run.deploymentID != "" {
		eval.DeploymentID = run.deploymentID
	}
	eval.EscapedComputedClass = len(run.failed) > 0
	eval.ModifyTime = time.Now().UnixNano()
	if run.annotate {
		eval.PlanAnnotations = run.plan.Annotations
	}
}
