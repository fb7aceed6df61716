package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
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
type planApplier struct {
	queue  chan *pendingPlan
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

// Run applies queued plans one at a time until ctx ends.
func (p *planApplier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case pending := <-p.queue:
			result, err := p.applyOne(pending.plan)
			pending.result <- planOutcome{result, err}
		}
	}
}

// applyOne evaluates and commits one plan; the timings are Nomad's
// nomad.plan.evaluate and nomad.plan.apply.
func (p *planApplier) applyOne(plan *structs.Plan) (*structs.PlanResult, error) {
	start := time.Now()
	defer metrics.MeasureSince([]string{"nomad", "plan", "apply"}, start)
	snap := p.store().Snapshot()
	result, err := evaluatePlan(snap, plan)
	metrics.MeasureSince([]string{"nomad", "plan", "evaluate"}, start)
	if err != nil {
		return nil, err
	}
	noDeployment := plan.Deployment == nil && len(plan.DeploymentUpdates) == 0
	if len(result.NodeAllocation) == 0 && len(result.NodeUpdate) == 0 && noDeployment {
		return result, nil
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
	index, err := p.apply(structs.ApplyPlanResultsRequestType, req)
	if err != nil {
		return nil, fmt.Errorf("commit plan of eval %s: %w", plan.EvalID, err)
	}
	result.AllocIndex = index
	return result, nil
}

// evaluatePlan decides which parts of plan still fit the snapshot. Node by
// node: stops always apply; placements apply when the node is still ready
// and everything it would run fits. An all-at-once plan is all or nothing.
func evaluatePlan(snap *state.Snapshot, plan *structs.Plan) (*structs.PlanResult, error) {
	result := &structs.PlanResult{
		NodeUpdate:     plan.NodeUpdate,
		NodeAllocation: map[string][]*api.Allocation{},
	}
	rejected := false
	for nodeID, allocs := range plan.NodeAllocation {
		ok, err := nodeFits(snap, plan, nodeID, allocs)
		if err != nil {
			return nil, err
		}
		if !ok {
			rejected = true
			continue
		}
		result.NodeAllocation[nodeID] = allocs
	}
	if rejected {
		result.RefreshIndex = snap.LatestIndex()
		if plan.AllAtOnce {
			result.NodeUpdate = nil
			result.NodeAllocation = map[string][]*api.Allocation{}
		}
	}
	return result, nil
}

// nodeFits checks that a node can take the plan's allocations on top of
// what it already runs, less what the plan stops or replaces.
func nodeFits(snap *state.Snapshot, plan *structs.Plan, nodeID string, placed []*api.Allocation) (bool, error) {
	node, err := snap.NodeByID(nodeID)
	if err != nil {
		return false, err
	}
	if node == nil {
		return false, nil
	}
	newPlacement := false
	existing, err := snap.AllocsByNode(nodeID)
	if err != nil {
		return false, err
	}
	replaced := map[string]bool{}
	for _, a := range plan.NodeUpdate[nodeID] {
		replaced[a.ID] = true
	}
	known := map[string]bool{}
	for _, a := range existing {
		known[a.ID] = true
	}
	for _, a := range placed {
		replaced[a.ID] = true
		if !known[a.ID] {
			newPlacement = true
		}
	}
	if newPlacement && !nodeAcceptsPlacements(node) {
		return false, nil
	}
	proposed := make([]*api.Allocation, 0, len(existing)+len(placed))
	for _, a := range existing {
		if !replaced[a.ID] && !structs.AllocTerminal(a) {
			proposed = append(proposed, a)
		}
	}
	proposed = append(proposed, placed...)
	fit, _, _, err := structs.AllocsFit(node, proposed)
	if err != nil {
		return false, err
	}
	return fit, nil
}

// nodeAcceptsPlacements is true for a ready node; eligibility was the
// scheduler's concern, and an in-flight plan may still land on a node
// that was marked ineligible a moment ago, as in Nomad.
func nodeAcceptsPlacements(n *api.Node) bool {
	return n.Status == structs.NodeStatusReady
}

// errNotLeader is returned for writes on a server that is not the leader.
var errNotLeader = ErrNoLeader
