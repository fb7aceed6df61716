package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// evalRun is one attempt at an evaluation: the state it reads, the plan it
// builds and what it could not place.
type evalRun struct {
	s     *genericScheduler
	eval  *api.Evaluation
	state State
	// job is nil when the job was purged.
	job *api.Job
	// allocs are the job's allocations; stale are those left by a purged
	// job of the same ID, which must stop and never count for this one.
	allocs   []*api.Allocation
	stale    []*api.Allocation
	nodes    map[string]*api.Node
	plan     *structs.Plan
	selector *nodeSelector
	// stopped holds the IDs of allocations the plan stops.
	stopped map[string]bool
	failed  map[string]*api.AllocationMetric
	queued  map[string]int
	// followups are evaluations that reschedule failed allocations later;
	// they are created after the plan that points allocations at them.
	followups []*api.Evaluation
	annotate  bool
	now       time.Time
	// deploymentID is the active deployment the run placed under, which
	// the evaluation records for `job run` to follow.
	deploymentID string
}

func newEvalRun(s *genericScheduler, eval *api.Evaluation, state State) (*evalRun, error) {
	job, err := state.JobByID(eval.Namespace, eval.JobID)
	if err != nil {
		return nil, fmt.Errorf("read job %q: %w", eval.JobID, err)
	}
	// A multiregion job runs with its region's count, datacenters and meta.
	job = structs.Regionalize(job)
	allocs, err := state.AllocsByJob(eval.Namespace, eval.JobID)
	if err != nil {
		return nil, fmt.Errorf("read allocations of job %q: %w", eval.JobID, err)
	}
	nodes, err := state.Nodes()
	if err != nil {
		return nil, fmt.Errorf("read nodes: %w", err)
	}
	run := &evalRun{
		s:        s,
		eval:     eval,
		state:    state,
		job:      job,
		allocs:   allocs,
		nodes:    make(map[string]*api.Node, len(nodes)),
		stopped:  make(map[string]bool),
		failed:   make(map[string]*api.AllocationMetric),
		queued:   make(map[string]int),
		annotate: s.opts.AnnotatePlan || eval.AnnotatePlan,
		now:      time.Now(),
	}
	run.allocs, run.stale = splitStale(allocs, job)
	nodes = slices.DeleteFunc(nodes, func(n *api.Node) bool { return n == nil })
	for _, n := range nodes {
		run.nodes[n.ID] = n
	}
	if err := checkJobShape(job); err != nil {
		return nil, err
	}
	run.plan = &structs.Plan{EvalID: eval.ID, Priority: eval.Priority, Job: job}
	if job != nil {
		run.plan.AllAtOnce = deref(job.AllAtOnce)
		if job.Priority != nil {
			run.plan.Priority = *job.Priority
		}
		if !deref(job.Stop) {
			run.selector = newNodeSelector(run, nodes)
		}
	}
	return run, nil
}

// splitStale separates the allocations of job from those a purged job of
// the same ID left behind (another create index).
func splitStale(allocs []*api.Allocation, job *api.Job) (own, stale []*api.Allocation) {
	for _, a := range allocs {
		if structs.AllocOfJob(a, job) {
			own = append(own, a)
		} else {
			stale = append(stale, a)
		}
	}
	return own, stale
}

// errMalformedJob marks a job the scheduler cannot read.
var errMalformedJob = errors.New("malformed job")

// checkJobShape rejects a job with missing groups or tasks, which
// validation should have caught, so that scheduling never trips on them.
func checkJobShape(job *api.Job) error {
	if job == nil {
		return nil
	}
	for i, tg := range job.TaskGroups {
		if tg == nil {
			return fmt.Errorf("%w: task group %d is empty", errMalformedJob, i)
		}
		for j, t := range tg.Tasks {
			if t == nil {
				return fmt.Errorf("%w: task %d of group %q is empty", errMalformedJob, j, deref(tg.Name))
			}
		}
	}
	return nil
}

func (run *evalRun) namespace() string {
	if run.job != nil && deref(run.job.Namespace) != "" {
		return *run.job.Namespace
	}
	if run.eval.Namespace != "" {
		return run.eval.Namespace
	}
	return structs.DefaultNamespace
}

// ownJob reports whether the allocation belongs to the evaluated job.
func (run *evalRun) ownJob(a *api.Allocation) bool {
	return run.job != nil && a.JobID == deref(run.job.ID) && a.Namespace == run.namespace()
}

// compute reconciles the job with its allocations and fills the plan.
func (run *evalRun) compute() error {
	rec := &reconciler{
		job:    run.job,
		evalID: run.eval.ID,
		allocs: run.allocs,
		nodes:  run.nodes,
		batch:  run.s.batch,
		system: run.s.system,
		now:    run.now,
		fitsInPlace: func(a *api.Allocation, tg *api.TaskGroup) bool {
			return run.selector != nil && run.selector.fitsInPlace(a, tg)
		},
		withMetrics: func(a *api.Allocation) *api.Allocation {
			if full, err := run.s.state.AllocByID(a.ID); err == nil && full != nil {
				return full
			}
			return a
		},
	}
	ro, err := run.planRollout()
	if err != nil {
		return err
	}
	rec.budget, rec.canaries, rec.staleCanaries = ro.budget, ro.canaries, ro.staleCanaries
	for _, a := range run.stale {
		run.stopStale(a)
	}
	var result reconcileResult
	if run.s.system && run.selector != nil {
		result = rec.reconcileSystem(run.selector)
	} else {
		result = rec.reconcile()
	}
	for _, st := range result.stops {
		run.stopAlloc(st.alloc, st.desc, st.clientStatus)
	}
	for _, a := range result.inPlace {
		a.EvalID = run.eval.ID
		a.ModifyTime = run.now.UnixNano()
		run.plan.AppendAlloc(a)
	}
	run.planFollowups(result.later)
	run.planDisconnects(result.disconnects)
	run.planLostLater(result.lostLater)
	if run.annotate {
		run.plan.Annotations = &api.PlanAnnotations{DesiredTGUpdates: result.desired}
	}
	if run.job != nil && !deref(run.job.Stop) {
		for _, tg := range run.job.TaskGroups {
			run.queued[deref(tg.Name)] = 0
		}
	}
	if err := run.placeAll(result.places); err != nil {
		return err
	}
	ro.desiredCanaries = result.canaries
	ro.attach(run)
	return nil
}

// placeAll places what the reconciler asked for. After a group's first
// failure its further placements are not tried but counted as coalesced
// failures.
func (run *evalRun) placeAll(places []placement) error {
	for _, p := range places {
		var err error
		if p.fresh != nil {
			err = run.placeFresh(p)
		} else {
			err = run.place(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// placeFresh places a group's new allocations one at a time until one
// finds no node: the rest are counted as coalesced failures (and queued)
// without being tried, so the work stays bounded by what fits.
func (run *evalRun) placeFresh(p placement) error {
	name := deref(p.group.Name)
	for f := p.fresh; f.left > 0; {
		if m := run.failed[name]; m != nil {
			m.CoalescedFailures += f.left
			run.queued[name] += f.left
			return nil
		}
		if err := run.place(placement{group: p.group, name: f.take()}); err != nil {
			return err
		}
	}
	return nil
}

// place places one allocation, or records why it could not be placed.
func (run *evalRun) place(p placement) error {
	name := deref(p.group.Name)
	if m := run.failed[name]; m != nil && p.node == nil {
		m.CoalescedFailures++
		run.queued[name]++
		return nil
	}
	if p.stopFirst {
		run.stopAlloc(p.previous, p.stopDesc, "")
	}
	gc := run.selector.groupChecks(p.group)
	o, m, err := run.selector.selectFor(gc, p)
	if err != nil {
		return err
	}
	if o == nil {
		if p.stopFirst {
			run.unstopAlloc(p.previous)
		}
		run.recordFailure(name, m)
		return nil
	}
	alloc := run.newAlloc(p, gc, o, m)
	run.selector.track(alloc, 1)
	run.plan.AppendAlloc(alloc)
	if p.stopDesc != "" && !p.stopFirst {
		run.stopAlloc(p.previous, p.stopDesc, "")
	}
	return nil
}

// recordFailure counts a placement that found no node; the group's first
// failure keeps its metric, later ones are coalesced into it. A system
// placement whose node does not pass the group's checks (m is nil) is no
// failure: the group simply does not run there.
func (run *evalRun) recordFailure(group string, m *api.AllocationMetric) {
	if m == nil {
		return
	}
	run.queued[group]++
	if first := run.failed[group]; first != nil {
		first.CoalescedFailures++
		return
	}
	run.failed[group] = m
}

// stopAlloc adds a stop to the plan and frees what the allocation held.
func (run *evalRun) stopAlloc(a *api.Allocation, desc, clientStatus string) {
	run.plan.AppendStop(a, desc, clientStatus)
	run.stopped[a.ID] = true
	if run.selector != nil && !structs.AllocTerminal(a) {
		run.selector.track(a, -1)
	}
}

// stopStale stops an allocation of a purged job of the same ID unless the
// server stopped it already; one on a lost node is marked lost.
func (run *evalRun) stopStale(a *api.Allocation) {
	if structs.AllocServerTerminal(a) {
		return
	}
	n := run.nodes[a.NodeID]
	if !structs.AllocClientTerminal(a) && (n == nil || n.Status == structs.NodeStatusDown || n.Status == api.NodeStatusDisconnected) {
		run.stopAlloc(a, allocLost, structs.AllocClientStatusLost)
		return
	}
	run.stopAlloc(a, allocNotNeeded, "")
}

// unstopAlloc withdraws the plan's last stop of the allocation.
func (run *evalRun) unstopAlloc(a *api.Allocation) {
	updates := run.plan.NodeUpdate[a.NodeID]
	for i := len(updates) - 1; i >= 0; i-- {
		if updates[i].ID == a.ID {
			updates = append(updates[:i], updates[i+1:]...)
			break
		}
	}
	if len(updates) == 0 {
		delete(run.plan.NodeUpdate, a.NodeID)
	} else {
		run.plan.NodeUpdate[a.NodeID] = updates
	}
	delete(run.stopped, a.ID)
	if run.selector != nil && !structs.AllocTerminal(a) {
		run.selector.track(a, 1)
	}
}
