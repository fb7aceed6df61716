package structs

import "github.com/hashicorp/nomad/api"

// Plan is what a scheduler worker proposes for one evaluation: allocations to
// place or update, and allocations to stop. The plan applier re-checks it
// against the newest state before committing it through Raft.
type Plan struct {
	// EvalID is the evaluation that produced the plan.
	EvalID string
	// Priority is the job's priority; the plan queue serves higher first.
	Priority int
	// Job is the job version the new allocations run.
	Job *api.Job
	// AllAtOnce asks the applier to commit the whole plan or nothing.
	AllAtOnce bool
	// NodeUpdate lists, per node ID, allocations to stop or mark lost. Each
	// carries the new DesiredStatus/DesiredDescription (and ClientStatus
	// "lost" when the node is gone).
	NodeUpdate map[string][]*api.Allocation
	// NodeAllocation lists, per node ID, allocations to create or update in
	// place.
	NodeAllocation map[string][]*api.Allocation
	// Annotations describe the plan for `job plan`; set only when the
	// scheduler runs with annotations on.
	Annotations *api.PlanAnnotations
	// Deployment is the deployment the plan creates or updates, if any.
	Deployment *api.Deployment
	// DeploymentUpdates change the status of other deployments of the job.
	DeploymentUpdates []*DeploymentStatusUpdate
}

// AppendStop records that alloc must stop, with the reason shown to users.
func (p *Plan) AppendStop(alloc *api.Allocation, desc, clientStatus string) {
	stopped := *alloc
	stopped.DesiredStatus = AllocDesiredStatusStop
	stopped.DesiredDescription = desc
	if clientStatus != "" {
		stopped.ClientStatus = clientStatus
	}
	if p.NodeUpdate == nil {
		p.NodeUpdate = make(map[string][]*api.Allocation)
	}
	p.NodeUpdate[alloc.NodeID] = append(p.NodeUpdate[alloc.NodeID], &stopped)
}

// AppendAlloc records a new or updated allocation on its node.
func (p *Plan) AppendAlloc(alloc *api.Allocation) {
	if p.NodeAllocation == nil {
		p.NodeAllocation = make(map[string][]*api.Allocation)
	}
	p.NodeAllocation[alloc.NodeID] = append(p.NodeAllocation[alloc.NodeID], alloc)
}

// IsNoOp reports whether the plan changes nothing.
func (p *Plan) IsNoOp() bool {
	return len(p.NodeUpdate) == 0 && len(p.NodeAllocation) == 0 &&
		p.Deployment == nil && len(p.DeploymentUpdates) == 0
}

// PlanResult is what the plan applier committed of a plan.
type PlanResult struct {
	// NodeUpdate and NodeAllocation hold the committed parts of the plan.
	NodeUpdate     map[string][]*api.Allocation
	NodeAllocation map[string][]*api.Allocation
	// RefreshIndex is non-zero when part of the plan was rejected: the
	// scheduler must refresh its state to at least this index and retry.
	RefreshIndex uint64
	// AllocIndex is the Raft index at which the plan was committed.
	AllocIndex uint64
}

// FullCommit reports whether everything the plan asked for was committed,
// with the counts of allocations expected and committed.
func (r *PlanResult) FullCommit(p *Plan) (full bool, expected, actual int) {
	for node, allocs := range p.NodeAllocation {
		expected += len(allocs)
		actual += len(r.NodeAllocation[node])
	}
	return expected == actual, expected, actual
}
