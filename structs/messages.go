package structs

import "github.com/hashicorp/nomad/api"

// MessageType tags each Raft log entry with the request it carries.
type MessageType uint8

// The Raft log's entry types. Values are part of the on-disk format: add
// new ones at the end, never renumber.
const (
	JobRegisterRequestType MessageType = iota + 1
	JobDeregisterRequestType
	EvalUpdateRequestType
	ApplyPlanResultsRequestType
	AllocClientUpdateRequestType
	NodeRegisterRequestType
	NodeStatusUpdateRequestType
	NodeEligibilityRequestType
	GCRequestType
	AllocDesiredTransitionRequestType
	NodeDrainRequestType
	VarApplyRequestType
	ServiceRegistrationUpsertRequestType
	ServiceRegistrationDeleteRequestType
	DeploymentUpsertRequestType
	RootKeyUpsertRequestType
	NamespaceUpsertRequestType
	NamespaceDeleteRequestType
	ACLPolicyUpsertRequestType
	ACLPolicyDeleteRequestType
	ACLTokenUpsertRequestType
	ACLTokenDeleteRequestType
	ACLTokenBootstrapRequestType
	ACLRoleUpsertRequestType
	ACLRoleDeleteRequestType
	RootKeyDeleteRequestType
	SchedulerConfigRequestType
	AutopilotConfigRequestType
	NodePoolUpsertRequestType
	NodePoolDeleteRequestType
	SubnetLeaseRequestType
	HostVolumeUpsertRequestType
	HostVolumeDeleteRequestType
	ScalingEventRequestType
	OneTimeTokenUpsertRequestType
	OneTimeTokenExchangeRequestType
	OneTimeTokenExpireRequestType
	ACLAuthMethodUpsertRequestType
	ACLAuthMethodDeleteRequestType
	ACLBindingRuleUpsertRequestType
	ACLBindingRuleDeleteRequestType
	ApplyPlanResultsBatchRequestType
)

// JobRegisterRequest registers (or updates) a job with its evaluation.
type JobRegisterRequest struct {
	Job *api.Job
	// Submission is the job file as the user wrote it, when sent.
	Submission *api.JobSubmission
	Eval       *api.Evaluation
	// Time is the leader's clock when it accepted the request (Unix ns);
	// every server applies the same value.
	Time int64
}

// JobDeregisterRequest stops a job, or purges it, with its evaluation.
type JobDeregisterRequest struct {
	Namespace string
	JobID     string
	Purge     bool
	Eval      *api.Evaluation
	Time      int64
}

// EvalUpdateRequest creates or updates evaluations.
type EvalUpdateRequest struct {
	Evals []*api.Evaluation
	Time  int64
}

// ApplyPlanResultsRequest commits the accepted part of a plan.
type ApplyPlanResultsRequest struct {
	// Job is the job version of the placed allocations; allocations travel
	// without their Job to keep log entries small.
	Job    *api.Job
	EvalID string
	// Allocs are new or updated allocations; Stopped are stop/lost updates.
	Allocs  []*api.Allocation
	Stopped []*api.Allocation
	// Deployment, when set, is a deployment the plan creates or updates;
	// DeploymentUpdates change the status of others (a newer job version
	// cancels the running deployment).
	Deployment        *api.Deployment
	DeploymentUpdates []*DeploymentStatusUpdate
	Time              int64
}

// ApplyPlanResultsBatchRequest commits the accepted parts of several plans
// in one Raft entry: the plan applier gathers the plans that queued while
// the previous entry committed.
type ApplyPlanResultsBatchRequest struct {
	Plans []*ApplyPlanResultsRequest
}

// AllocClientUpdateRequest carries client-side allocation state, and the
// evaluations that terminal allocations call for.
type AllocClientUpdateRequest struct {
	Allocs []*api.Allocation
	Evals  []*api.Evaluation
	Time   int64
}

// AllocDesiredTransitionRequest marks allocations for migration or
// rescheduling, with the evaluations that act on it.
type AllocDesiredTransitionRequest struct {
	AllocIDs   []string
	Transition api.DesiredTransition
	Evals      []*api.Evaluation
	Time       int64
}

// NodeRegisterRequest registers a node, with evaluations for the jobs
// that may now place on it.
type NodeRegisterRequest struct {
	Node  *api.Node
	Evals []*api.Evaluation
	Time  int64
}

// NodeStatusUpdateRequest changes a node's status.
type NodeStatusUpdateRequest struct {
	NodeID string
	Status string
	Event  *api.NodeEvent
	Evals  []*api.Evaluation
	Time   int64
}

// NodeEligibilityRequest changes a node's scheduling eligibility.
type NodeEligibilityRequest struct {
	NodeID      string
	Eligibility string
	Evals       []*api.Evaluation
	Time        int64
}

// NodeDrainRequest sets or clears a node's drain strategy.
type NodeDrainRequest struct {
	NodeID        string
	DrainStrategy *api.DrainStrategy
	MarkEligible  bool
	// Meta is kept in the node's LastDrain when a drain starts.
	Meta map[string]string
	// Complete marks the end of a drain by the drainer, not by a user.
	Complete bool
	Evals    []*api.Evaluation
	Time     int64
}

// GCRequest deletes objects the garbage collector found expired.
type GCRequest struct {
	Jobs     []NamespacedID
	EvalIDs  []string
	AllocIDs []string
	NodeIDs  []string
	// DeploymentIDs are terminal deployments of purged jobs.
	DeploymentIDs []string
	// Evals are written with the deletion: those of the jobs that had
	// allocations on a purged node, which find them lost.
	Evals []*api.Evaluation
	Time  int64
}

// NamespacedID names an object within a namespace.
type NamespacedID struct {
	Namespace string
	ID        string
}
