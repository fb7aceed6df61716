package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/jobspec"
	"github.com/roam-project/roam/structs"
)

// RegisterJob validates and stores a job (already canonicalized by the
// caller) and creates its evaluation, in one Raft entry. With
// enforceIndex, the job's current JobModifyIndex must equal modifyIndex
// (0 = the job must not exist), as `job run -check-index` requires.
func (s *Server) RegisterJob(args *structs.JobRegisterArgs) (*structs.JobRegisterReply, error) {
	var reply structs.JobRegisterReply
	if done, err := s.forward("Job.Register", args, &reply); done {
		return &reply, err
	}
	if err := s.registrationAllowed(args.AuthToken); err != nil {
		return nil, err
	}
	job, enforceIndex, modifyIndex := args.Job, args.EnforceIndex, args.ModifyIndex
	jobspec.DefaultOperators(job)
	if err := s.validateJob(job); err != nil {
		return nil, err
	}
	if err := s.authorize(args.AuthToken, hostVolumesAllowed(job)); err != nil {
		return nil, err
	}
	snap := s.State().Snapshot()
	if err := requireNodePool(snap, job); err != nil {
		return nil, err
	}
	existing, err := snap.JobByID(*job.Namespace, *job.ID)
	if err != nil {
		return nil, err
	}
	if enforceIndex {
		var current uint64
		if existing != nil {
			current = derefU64(existing.JobModifyIndex)
		}
		if current != modifyIndex {
			if modifyIndex == 0 {
				return nil, fmt.Errorf("%w: Enforcing job modify index 0: job already exists", ErrInvalid)
			}
			return nil, fmt.Errorf("%w: Enforcing job modify index %d: job exists with conflicting job modify index: %d", ErrInvalid, modifyIndex, current)
		}
	}
	if existing != nil {
		preserve(job, existing, args.PreserveCounts, args.PreserveResources)
	}
	job.Stop = ptr(false)
	req := &structs.JobRegisterRequest{Job: job, Submission: args.Submission, Time: time.Now().UnixNano()}
	warning := s.JobLimits().sourceTooLarge(args.Submission)
	if warning != "" {
		req.Submission = nil
	}
	if !isPeriodicOrParameterized(job) {
		trigger := args.Trigger
		if trigger == "" {
			trigger = structs.EvalTriggerJobRegister
		}
		req.Eval = newEval(job, trigger)
		if args.EvalPriority != 0 {
			req.Eval.Priority = args.EvalPriority
		}
	}
	index, err := s.raftApply(structs.JobRegisterRequestType, req)
	if err != nil {
		return nil, err
	}
	stored, err := s.State().Snapshot().JobByID(*job.Namespace, *job.ID)
	if err != nil || stored == nil {
		return nil, fmt.Errorf("read back job %q: %v", *job.ID, err)
	}
	res := &structs.JobRegisterReply{JobModifyIndex: derefU64(stored.JobModifyIndex), Index: index, Warnings: warning}
	if req.Eval != nil {
		res.EvalID, res.EvalCreateIndex = req.Eval.ID, index
	}
	return res, nil
}

// preserve keeps, in a job registered over existing, the counts of the
// groups and the resources of the tasks that existing has too.
func preserve(job, existing *api.Job, counts, resources bool) {
	for _, tg := range job.TaskGroups {
		old := groupNamed(existing, *tg.Name)
		if old == nil {
			continue
		}
		if counts {
			tg.Count = old.Count
		}
		if !resources {
			continue
		}
		for _, t := range tg.Tasks {
			for _, ot := range old.Tasks {
				if ot.Name == t.Name {
					t.Resources = ot.Resources
				}
			}
		}
	}
}

// groupNamed is job's task group called name, or nil.
func groupNamed(job *api.Job, name string) *api.TaskGroup {
	for _, tg := range job.TaskGroups {
		if tg.Name != nil && *tg.Name == name {
			return tg
		}
	}
	return nil
}

func isPeriodicOrParameterized(job *api.Job) bool {
	return job.Periodic != nil || job.ParameterizedJob != nil
}

// validateJob runs the job specification's semantic checks and the
// server's job limits, checks that its namespace exists and allows it, and
// runs each task's driver configuration check.
func (s *Server) validateJob(job *api.Job) error {
	if job == nil {
		return fmt.Errorf("%w: Missing job", ErrInvalid)
	}
	if job.ID == nil || *job.ID == "" {
		return fmt.Errorf("%w: Missing job ID", ErrInvalid)
	}
	if job.Namespace == nil || *job.Namespace == "" {
		return fmt.Errorf("%w: Missing job namespace", ErrInvalid)
	}
	if err := jobspec.Validate(job); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.JobLimits().Check(job); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ns, err := lookupNamespace(s.State().Snapshot(), *job.Namespace, fmt.Sprintf("job %q", *job.ID))
	if err != nil {
		return err
	}
	if err := structs.CheckNamespaceCapabilities(ns, job); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if s.config.ValidateTaskConfig == nil {
		return nil
	}
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if err := s.config.ValidateTaskConfig(t.Driver, t.Config); err != nil {
				return fmt.Errorf("%w: Task group %q, task %q: %v", ErrInvalid, *tg.Name, t.Name, err)
			}
		}
	}
	return nil
}

// DeregisterJob stops a job (or purges it) and creates the evaluation that
// stops its allocations.
func (s *Server) DeregisterJob(token, namespace, jobID string, purge bool) (evalID string, index uint64, err error) {
	return s.DeregisterJobOpts(&structs.JobDeregisterArgs{Namespace: namespace, JobID: jobID, Purge: purge,
		WriteRequest: structs.WriteRequest{AuthToken: token}})
}

// DeregisterJobOpts is DeregisterJob with all its options. A job that does
// not exist is no error, as in Nomad: there is nothing to stop, and no
// evaluation.
func (s *Server) DeregisterJobOpts(args *structs.JobDeregisterArgs) (evalID string, index uint64, err error) {
	var reply structs.EvalReply
	if done, err := s.forward("Job.Deregister", args, &reply); done {
		return reply.EvalID, reply.Index, err
	}
	namespace, jobID, purge := args.Namespace, args.JobID, args.Purge
	snap := s.State().Snapshot()
	job, err := snap.JobByID(namespace, jobID)
	if err != nil {
		return "", 0, err
	}
	if job == nil {
		return "", snap.Index("jobs"), nil
	}
	eval := newEval(job, structs.EvalTriggerJobDeregister)
	if args.EvalPriority != 0 {
		eval.Priority = args.EvalPriority
	}
	req := &structs.JobDeregisterRequest{Namespace: namespace, JobID: jobID, Purge: purge, Eval: eval, Time: time.Now().UnixNano()}
	index, err = s.raftApply(structs.JobDeregisterRequestType, req)
	if err != nil {
		return "", 0, err
	}
	if purge {
		s.blocked.Untrack(namespace, jobID)
	}
	return eval.ID, index, nil
}

// EvaluateJob forces a new evaluation of a job.
func (s *Server) EvaluateJob(token string, namespace, jobID string, forceReschedule bool) (evalID string, index uint64, err error) {
	var reply structs.EvalReply
	if done, err := s.forward("Job.Evaluate", &structs.JobEvaluateArgs{Namespace: namespace, JobID: jobID, ForceReschedule: forceReschedule,
		WriteRequest: structs.WriteRequest{AuthToken: token}}, &reply); done {
		return reply.EvalID, reply.Index, err
	}
	job, err := s.State().Snapshot().JobByID(namespace, jobID)
	if err != nil {
		return "", 0, err
	}
	if job == nil {
		return "", 0, fmt.Errorf("job not found: %w", ErrNotFound)
	}
	if isPeriodicOrParameterized(job) {
		return "", 0, fmt.Errorf("%w: can't evaluate periodic or parameterized job", ErrInvalid)
	}
	eval := newEval(job, structs.EvalTriggerJobRegister)
	if forceReschedule {
		// The failed allocations are marked for rescheduling in the same
		// entry as the evaluation that reschedules them.
		allocs, err := s.State().Snapshot().AllocsByJob(namespace, jobID)
		if err != nil {
			return "", 0, err
		}
		req := &structs.AllocDesiredTransitionRequest{Transition: api.DesiredTransition{ForceReschedule: ptr(true)},
			Evals: []*api.Evaluation{eval}, Time: time.Now().UnixNano()}
		for _, a := range allocs {
			if a.ClientStatus == structs.AllocClientStatusFailed && a.DesiredStatus == structs.AllocDesiredStatusRun {
				req.AllocIDs = append(req.AllocIDs, a.ID)
			}
		}
		index, err = s.raftApply(structs.AllocDesiredTransitionRequestType, req)
		return eval.ID, index, err
	}
	index, err = s.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*api.Evaluation{eval}, Time: time.Now().UnixNano()})
	if err != nil {
		return "", 0, err
	}
	return eval.ID, index, nil
}

// RevertJob registers an older version of a job again as its newest.
func (s *Server) RevertJob(token string, namespace, jobID string, version uint64, enforcePrior *uint64) (*structs.JobRegisterReply, error) {
	var reply structs.JobRegisterReply
	if done, err := s.forward("Job.Revert", &structs.JobRevertArgs{Namespace: namespace, JobID: jobID, Version: version, EnforcePrior: enforcePrior, WriteRequest: structs.WriteRequest{AuthToken: token}}, &reply); done {
		return &reply, err
	}
	snap := s.State().Snapshot()
	current, err := snap.JobByID(namespace, jobID)
	if err != nil {
		return nil, err
	}
	if current == nil {
		return nil, fmt.Errorf("job not found: %w", ErrNotFound)
	}
	if enforcePrior != nil && *enforcePrior != derefU64(current.Version) {
		return nil, fmt.Errorf("%w: Current job has version %d; enforcing version %d", ErrInvalid, derefU64(current.Version), *enforcePrior)
	}
	if version == derefU64(current.Version) {
		return nil, fmt.Errorf("%w: can't revert to current version", ErrInvalid)
	}
	old, err := snap.JobByVersion(namespace, jobID, version)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, fmt.Errorf("job %q at version %d not found: %w", jobID, version, ErrNotFound)
	}
	revert := *old
	revert.Stable = ptr(false) // a new version is stable only once deployed
	return s.RegisterJob(&structs.JobRegisterArgs{Job: &revert})
}

// ScaleJob sets a task group's count and re-evaluates the job.
func (s *Server) ScaleJob(args *structs.JobScaleArgs) (*structs.JobRegisterReply, error) {
	var reply structs.JobRegisterReply
	if done, err := s.forward("Job.Scale", args, &reply); done {
		return &reply, err
	}
	if args.Count != nil && *args.Count < 0 {
		return nil, fmt.Errorf("%w: scaling action count can't be negative", ErrInvalid)
	}
	if args.Count != nil && args.Error {
		return nil, fmt.Errorf("%w: scaling action should not contain count if error is true", ErrInvalid)
	}
	job, err := s.State().Snapshot().JobByID(args.Namespace, args.JobID)
	if err != nil {
		return nil, err
	}
	if job == nil {
		return nil, fmt.Errorf("job %q not found: %w", args.JobID, ErrNotFound)
	}
	scaled := copyJob(job)
	var previous *int
	for _, tg := range scaled.TaskGroups {
		if *tg.Name == args.Group {
			previous = ptr(*tg.Count)
			if args.Count != nil {
				tg.Count = ptr(int(*args.Count))
			}
		}
	}
	if previous == nil {
		return nil, fmt.Errorf("%w: task group %q specified for scaling does not exist in job", ErrInvalid, args.Group)
	}
	event := &api.ScalingEvent{Count: args.Count, PreviousCount: int64(*previous), Error: args.Error, Message: args.Message,
		Meta: args.Meta, Time: uint64(time.Now().UnixNano())}
	out := &structs.JobRegisterReply{JobModifyIndex: derefU64(job.JobModifyIndex)}
	if args.Count != nil {
		r, err := s.RegisterJob(&structs.JobRegisterArgs{Job: scaled, WriteRequest: args.WriteRequest})
		if err != nil {
			return nil, err
		}
		out = r
		if r.EvalID != "" {
			event.EvalID = ptr(r.EvalID)
		}
	}
	index, err := s.raftApply(structs.ScalingEventRequestType, &structs.ScalingEventRequest{
		Namespace: args.Namespace, JobID: args.JobID, Group: args.Group, Event: event})
	if err != nil {
		return nil, err
	}
	out.Index = max(out.Index, index)
	return out, nil
}

// StopAlloc stops one allocation and lets the scheduler replace it.
func (s *Server) StopAlloc(token string, allocID string) (evalID string, index uint64, err error) {
	return s.StopAllocOpts(&structs.AllocStopArgs{AllocID: allocID, WriteRequest: structs.WriteRequest{AuthToken: token}})
}

// StopAllocOpts is StopAlloc with all its options.
func (s *Server) StopAllocOpts(args *structs.AllocStopArgs) (evalID string, index uint64, err error) {
	var reply structs.EvalReply
	if done, err := s.forward("Alloc.Stop", args, &reply); done {
		return reply.EvalID, reply.Index, err
	}
	allocID := args.AllocID
	snap := s.State().Snapshot()
	alloc, err := snap.AllocByID(allocID)
	if err != nil {
		return "", 0, err
	}
	if alloc == nil {
		return "", 0, fmt.Errorf("alloc not found: %w", ErrNotFound)
	}
	job, err := snap.JobByID(alloc.Namespace, alloc.JobID)
	if err != nil {
		return "", 0, err
	}
	req := &structs.AllocDesiredTransitionRequest{
		AllocIDs:   []string{alloc.ID},
		Transition: api.DesiredTransition{Migrate: ptr(true)},
		Time:       time.Now().UnixNano(),
	}
	if args.Reschedule {
		req.Transition.Reschedule = ptr(true)
	}
	if args.NoShutdownDelay {
		req.Transition.NoShutdownDelay = ptr(true)
	}
	if job != nil {
		e := newEval(job, structs.EvalTriggerAllocStop)
		req.Evals = append(req.Evals, e)
		evalID = e.ID
	}
	index, err = s.raftApply(structs.AllocDesiredTransitionRequestType, req)
	return evalID, index, err
}

// copyJob deep-copies a job so that a stored version is never mutated.
func copyJob(j *api.Job) *api.Job {
	var out api.Job
	mustRoundTrip(j, &out)
	return &out
}
