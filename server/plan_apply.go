package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// The plan applier's batches: the plans that queued while the previous
// batch committed, up to this many plans and this many allocations (a
// single plan may hold more), go into one Raft entry. The allocation bound
// keeps a commit within the state store's cheap change notification:
// memdb falls back to walking whole index trees once a transaction
// changes about 8,192 tree nodes of one index, some 1,500 allocations.
const (
	maxPlanBatch       = 16
	maxPlanBatchAllocs = 1024
)

// pendingPlan is a plan waiting in the queue with the channel its result
// goes back on.
type pendingPlan struct {
	plan   *structs.Plan
	result chan planOutcome
}

type planOutcome struct {
	result *structs.PlanResult
	err    error
}

// planApplier is the leader's single committer of plans. It re-checks each
// plan against the newest state (optimistic concurrency: workers plan from
// snapshots that may be stale), commits what still fits through Raft, and
// tells the worker to refresh when something was rejected.
//
// It is a pipeline: while one batch of plans commits, the plans queued
// meanwhile are checked against the state as it will be once that batch
// is in (the store's snapshot with the committing batch laid over it), and
// commit together in the next Raft entry as soon as the first one is in.
type planApplier struct {
	queue chan *pendingPlan
	// held is a plan taken from the queue that did not fit in the last
	// batch: it starts the next one.
	held   *pendingPlan
	store  func() *state.Store
	apply  func(t structs.MessageType, req any) (uint64, error)
	logger *slog.Logger
}

func newPlanApplier(store func() *state.Store, apply func(structs.MessageType, any) (uint64, error), logger *slog.Logger) *planApplier {
	return &planApplier{queue: make(chan *pendingPlan, 64), store: store, apply: apply, logger: logger}
}

// Submit queues a plan and waits for its result.
func (p *planApplier) Submit(ctx context.Context, plan *structs.Plan) (*structs.PlanResult, error) {
	defer metrics.MeasureSince([]string{"nomad", "plan", "submit"}, time.Now())
	pending := &pendingPlan{plan: plan, result: make(chan planOutcome, 1)}
	select {
	case p.queue <- pending:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case out := <-pending.result:
		return out.result, out.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// planCommit is a batch of evaluated plans on its way through Raft. Its
// goroutine answers the plans' submitters and then closes done.
type planCommit struct {
	plans []*pendingPlan
	// results are the plans' accepted parts, laid over the store for the
	// next batch while this one is in flight.
	results []*structs.PlanResult
	// base is the index of the state the batch was checked against,
	// without the batch laid over it.
	base uint64
	done chan struct{}
	// index and err are set before done closes: the index at which the
	// batch is in, and the error of a plan that failed to commit.
	index uint64
	err   error
}

// Run applies queued plans until ctx ends.
func (p *planApplier) Run(ctx context.Context) {
	var inflight *planCommit
	for {
		first := p.held
		p.held = nil
		switch {
		case first != nil:
		case inflight == nil:
			select {
			case <-ctx.Done():
				return
			case first = <-p.queue:
			}
		default:
			select {
			case <-ctx.Done():
				return
			case <-inflight.done:
				inflight = nil
				continue
			case first = <-p.queue:
			}
		}
		batch := p.gather(first)
		results, base, err := p.evaluate(batch, inflight)
		if inflight != nil {
			<-inflight.done
			if inflight.err != nil && err == nil {
				// The batch was checked on top of one that never
				// committed: check it again on the store alone.
				results, base, err = p.evaluate(batch, nil)
			}
			if err == nil {
				base = max(base, inflight.index)
			}
			inflight = nil
		}
		if err != nil {
			for _, pp := range batch {
				pp.result <- planOutcome{err: err}
			}
			continue
		}
		inflight = &planCommit{plans: batch, results: results, base: base, done: make(chan struct{})}
		go p.commit(inflight)
	}
}

// gather takes first and the plans queued behind it, within the batch
// limits; a plan past them is held for the next batch.
func (p *planApplier) gather(first *pendingPlan) []*pendingPlan {
	batch := []*pendingPlan{first}
	allocs := planAllocCount(first.plan)
	for len(batch) < maxPlanBatch {
		select {
		case next := <-p.queue:
			n := planAllocCount(next.plan)
			if allocs+n > maxPlanBatchAllocs {
				p.held = next
				return batch
			}
			batch = append(batch, next)
			allocs += n
		default:
			return batch
		}
	}
	return batch
}

func planAllocCount(plan *structs.Plan) int {
	n := 0
	for _, allocs := range plan.NodeAllocation {
		n += len(allocs)
	}
	return n
}

// evaluate checks the batch's plans in order against the newest state with
// the in-flight batch (if any) and the plans before each laid over it, and
// returns their results and the index of that state. The batch before the
// in-flight one is in the store already: a batch commits only once the one
// before it is in. The nomad.plan.evaluate timing is per plan, as Nomad's.
func (p *planApplier) evaluate(batch []*pendingPlan, inflight *planCommit) ([]*structs.PlanResult, uint64, error) {
	view := newPlanView(p.store().Snapshot())
	if inflight != nil {
		for _, r := range inflight.results {
			view.add(r)
		}
	}
	results := make([]*structs.PlanResult, len(batch))
	for i, pp := range batch {
		start := time.Now()
		result, err := evaluatePlan(view, pp.plan)
		metrics.MeasureSince([]string{"nomad", "plan", "evaluate"}, start)
		if err != nil {
			return nil, 0, fmt.Errorf("evaluate plan of eval %s: %w", pp.plan.EvalID, err)
		}
		view.add(result)
		results[i] = result
	}
	return results, view.snap.LatestIndex(), nil
}

// commit writes the batch's accepted results in one Raft entry (the plain
// plan entry for a batch of one) and answers each plan. When a batch entry
// is refused for one of its plans, the plans are committed one by one, so
// that only the offending one fails.
func (p *planApplier) commit(c *planCommit) {
	defer close(c.done)
	start := time.Now()
	var reqs []*structs.ApplyPlanResultsRequest
	var owners []int
	for i, pp := range c.plans {
		if req := planResultsRequest(pp.plan, c.results[i]); req != nil {
			reqs = append(reqs, req)
			owners = append(owners, i)
		}
	}
	errs := make([]error, len(c.plans))
	indexes := make([]uint64, len(c.plans))
	switch {
	case len(reqs) == 1:
		indexes[owners[0]], errs[owners[0]] = p.apply(structs.ApplyPlanResultsRequestType, reqs[0])
	case len(reqs) > 1:
		index, err := p.apply(structs.ApplyPlanResultsBatchRequestType, &structs.ApplyPlanResultsBatchRequest{Plans: reqs})
		if err != nil && !errors.Is(err, errNotLeader) && !errors.Is(err, errShutdown) {
			p.logger.Warn("plan batch refused, committing its plans one by one", "plans", len(reqs), "error", err)
			for j, req := range reqs {
				indexes[owners[j]], errs[owners[j]] = p.apply(structs.ApplyPlanResultsRequestType, req)
			}
			break
		}
		for _, i := range owners {
			indexes[i], errs[i] = index, err
		}
	}
	if len(reqs) > 0 {
		metrics.MeasureSince([]string{"nomad", "plan", "apply"}, start)
	}
	// Everything the batch was checked against is in the state at index.
	c.index = c.base
	for i, pp := range c.plans {
		if errs[i] != nil {
			c.err = errs[i]
			pp.result <- planOutcome{err: fmt.Errorf("commit plan of eval %s: %w", pp.plan.EvalID, errs[i])}
			continue
		}
		c.index = max(c.index, indexes[i])
	}
	for i, pp := range c.plans {
		if errs[i] != nil {
			continue
		}
		result := c.results[i]
		result.AllocIndex = indexes[i]
		if result.RefreshIndex != 0 {
			// A rejection may come from a plan committed ahead of this
			// one: the worker refreshes to a state that holds it.
			result.RefreshIndex = c.index
		}
		pp.result <- planOutcome{result: result}
	}
}

// planResultsRequest is the Raft request committing a plan's result, nil
// when the result changes nothing.
func planResultsRequest(plan *structs.Plan, result *structs.PlanResult) *structs.ApplyPlanResultsRequest {
	noDeployment := plan.Deployment == nil && len(plan.DeploymentUpdates) == 0
	if len(result.NodeAllocation) == 0 && len(result.NodeUpdate) == 0 && noDeployment {
		return nil
	}
	req := &structs.ApplyPlanResultsRequest{
		Job: plan.Job, EvalID: plan.EvalID, Time: time.Now().UnixNano(),
		Deployment: plan.Deployment, DeploymentUpdates: plan.DeploymentUpdates,
	}
	for _, allocs := range result.NodeAllocation {
		for _, a := range allocs {
			slim := *a
			if slim.Job == plan.Job {
				slim.Job = nil
			}
			req.Allocs = append(req.Allocs, &slim)
		}
	}
	for _, allocs := range result.NodeUpdate {
		for _, a := range allocs {
			slim := *a
			slim.Job = nil
			req.Stopped = append(req.Stopped, &slim)
		}
	}
	return req
}

// planView is the state a plan is checked against: a snapshot of the store
// with the accepted results of plans not yet in it laid over, allocation by
// allocation (a later version of an allocation replaces the earlier one).
type planView struct {
	snap *state.Snapshot
	// allocs holds, per node, the overlaid allocations by ID.
	allocs map[string]map[string]*api.Allocation
}

func newPlanView(snap *state.Snapshot) *planView {
	return &planView{snap: snap, allocs: map[string]map[string]*api.Allocation{}}
}

// add lays a plan's accepted result over the view. Allocations the
// snapshot holds already (the in-flight batch may have committed since it
// was taken) are laid over again harmlessly.
func (v *planView) add(result *structs.PlanResult) {
	for nodeID, allocs := range result.NodeUpdate {
		for _, a := range allocs {
			v.put(nodeID, a)
		}
	}
	for nodeID, allocs := range result.NodeAllocation {
		for _, a := range allocs {
			v.put(nodeID, a)
		}
	}
}

func (v *planView) put(nodeID string, a *api.Allocation) {
	m := v.allocs[nodeID]
	if m == nil {
		m = map[string]*api.Allocation{}
		v.allocs[nodeID] = m
	}
	m[a.ID] = a
}

// evaluatePlan decides which parts of plan still fit the view. Node by
// node: stops always apply; placements apply when the node is still ready
// and everything it would run fits. An all-at-once plan is all or nothing.
func evaluatePlan(view *planView, plan *structs.Plan) (*structs.PlanResult, error) {
	result := &structs.PlanResult{
		NodeUpdate:     plan.NodeUpdate,
		NodeAllocation: map[string][]*api.Allocation{},
	}
	nodes := make([]string, 0, len(plan.NodeAllocation))
	for nodeID := range plan.NodeAllocation {
		nodes = append(nodes, nodeID)
	}
	fits, err := nodesFit(view, plan, nodes)
	if err != nil {
		return nil, err
	}
	rejected := false
	for i, nodeID := range nodes {
		if !fits[i] {
			rejected = true
			continue
		}
		result.NodeAllocation[nodeID] = plan.NodeAllocation[nodeID]
	}
	if rejected {
		result.RefreshIndex = view.snap.LatestIndex()
		if plan.AllAtOnce {
			result.NodeUpdate = nil
			result.NodeAllocation = map[string][]*api.Allocation{}
		}
	}
	return result, nil
}

// nodesPerEvaluator is how many of a plan's nodes make it worth one more
// goroutine checking them.
const nodesPerEvaluator = 64

// nodesFit runs nodeFits for each of nodes, spread over the cores as
// Nomad's plan evaluation pool: the check is the serial part of every
// placement, and nodes are independent of one another within a plan.
func nodesFit(view *planView, plan *structs.Plan, nodes []string) ([]bool, error) {
	fits := make([]bool, len(nodes))
	workers := min(runtime.GOMAXPROCS(0), (len(nodes)+nodesPerEvaluator-1)/nodesPerEvaluator)
	if workers <= 1 {
		for i, nodeID := range nodes {
			ok, err := nodeFits(view, plan, nodeID, plan.NodeAllocation[nodeID])
			if err != nil {
				return nil, err
			}
			fits[i] = ok
		}
		return fits, nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(nodes); i += workers {
				ok, err := nodeFits(view, plan, nodes[i], plan.NodeAllocation[nodes[i]])
				if err != nil {
					errs[w] = err
					return
				}
				fits[i] = ok
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return fits, nil
}

// nodeFits checks that a node can take the plan's allocations on top of
// what it already runs, less what the plan stops or replaces. What the
// node runs comes summed from the snapshot (state.Snapshot.NodeUsage);
// the view's overlay and the plan are counted as changes to it.
func nodeFits(view *planView, plan *structs.Plan, nodeID string, placed []*api.Allocation) (bool, error) {
	node, err := view.snap.NodeByID(nodeID)
	if err != nil {
		return false, err
	}
	if node == nil {
		return false, nil
	}
	base, err := view.snap.NodeUsage(nodeID)
	if err != nil {
		return false, err
	}
	change := &structs.NodeUsage{}
	over := view.allocs[nodeID]
	for id, a := range over {
		stored, err := view.snap.AllocByIDAsListed(id)
		if err != nil {
			return false, err
		}
		countOn(change, nodeID, stored, -1)
		countOn(change, nodeID, a, 1)
	}
	// replaced maps the IDs the plan stops (false) and places (true).
	replaced := make(map[string]bool, len(plan.NodeUpdate[nodeID])+len(placed))
	for _, a := range plan.NodeUpdate[nodeID] {
		replaced[a.ID] = false
	}
	for _, a := range placed {
		replaced[a.ID] = true
	}
	held := 0
	for id, isPlaced := range replaced {
		current, ok := over[id]
		if !ok {
			if current, err = view.snap.AllocByIDAsListed(id); err != nil {
				return false, err
			}
		}
		if current == nil || current.NodeID != nodeID {
			continue
		}
		if isPlaced {
			held++
		}
		countOn(change, nodeID, current, -1)
	}
	// Placements the node holds already are in-place updates; a new one
	// needs a ready node.
	if held < len(placed) && !nodeAcceptsPlacements(node) {
		return false, nil
	}
	for _, a := range placed {
		countOn(change, nodeID, a, 1)
	}
	fit, _, err := structs.UsageFits(node, base, change)
	return fit, err
}

// countOn counts a (nil for none) in change with delta when it is a
// non-terminal allocation on the node.
func countOn(change *structs.NodeUsage, nodeID string, a *api.Allocation, delta int) {
	if a != nil && a.NodeID == nodeID && !structs.AllocTerminal(a) {
		change.Add(a, delta)
	}
}

// nodeAcceptsPlacements is true for a ready node; eligibility was the
// scheduler's concern, and an in-flight plan may still land on a node
// that was marked ineligible a moment ago, as in Nomad.
func nodeAcceptsPlacements(n *api.Node) bool {
	return n.Status == structs.NodeStatusReady
}

// errNotLeader is returned for writes on a server that is not the leader.
var errNotLeader = ErrNoLeader
