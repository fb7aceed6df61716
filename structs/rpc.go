package structs

import (
	"time"

	"github.com/hashicorp/nomad/api"
)

// The arguments and replies of server RPC endpoints ("Job.Register",
// "Node.Heartbeat", ...), shared by servers forwarding to the leader and by
// clients calling servers.

// JobRegisterArgs registers a job.
type JobRegisterArgs struct {
	Job        *api.Job
	Submission *api.JobSubmission
	// Trigger is the evaluation's TriggeredBy; "job-register" when empty.
	Trigger      string
	EnforceIndex bool
	ModifyIndex  uint64
	// PreserveCounts keeps the group counts of the registered job, and
	// PreserveResources its tasks' resources, for groups and tasks that
	// exist already.
	PreserveCounts    bool
	PreserveResources bool
	// EvalPriority, when not 0, is the evaluation's priority instead of
	// the job's.
	EvalPriority int
	WriteRequest
}

// JobRegisterReply is what registering (or reverting, scaling) a job
// returns.
type JobRegisterReply struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Index           uint64
	Warnings        string
}

// JobDeregisterArgs stops or purges a job.
type JobDeregisterArgs struct {
	Namespace, JobID string
	Purge            bool
	// EvalPriority, when not 0, is the evaluation's priority instead of
	// the job's.
	EvalPriority int
	WriteRequest
}

// JobEvaluateArgs forces an evaluation of a job.
type JobEvaluateArgs struct {
	Namespace, JobID string
	// ForceReschedule reschedules the job's failed allocations now, even
	// those whose reschedule policy gave up or waits.
	ForceReschedule bool
	WriteRequest
}

// JobRevertArgs registers an older version of a job again.
type JobRevertArgs struct {
	Namespace, JobID string
	Version          uint64
	EnforcePrior     *uint64
	WriteRequest
}

// JobScaleArgs sets a group's count.
type JobScaleArgs struct {
	Namespace, JobID, Group string
	// Count is the group's new count; nil records the event only.
	Count *int64
	// Message, Error and Meta describe the scaling event recorded.
	Message string
	Error   bool
	Meta    map[string]any
	WriteRequest
}

// AllocStopArgs stops one allocation.
type AllocStopArgs struct {
	AllocID string
	// Reschedule and NoShutdownDelay are recorded in the allocation's
	// desired transition, as Nomad's `alloc stop -reschedule` and
	// `-no-shutdown-delay` do (Roam's client has no shutdown delay).
	Reschedule, NoShutdownDelay bool
	WriteRequest
}

// EvalReply names the evaluation a write created and its index.
type EvalReply struct {
	EvalID string
	Index  uint64
}

// NodeRegisterArgs registers a client node.
type NodeRegisterArgs struct {
	Node *api.Node
	NodeAuth
}

// NodeHeartbeatArgs keeps a node alive.
type NodeHeartbeatArgs struct {
	NodeID string
	NodeAuth
}

// HeartbeatReply carries the node's next TTL and the servers it may use.
type HeartbeatReply struct {
	TTL     time.Duration
	Servers []string
}

// NodeAllocsArgs asks for a node's allocations past MinIndex, waiting up
// to Wait for a change. With Changes set, Node.GetClientAllocs may answer
// with what changed after MinIndex only (NodeClientAllocsReply.Changes).
type NodeAllocsArgs struct {
	NodeID   string
	MinIndex uint64
	Wait     time.Duration
	Changes  bool
	NodeAuth
}

// NodeAllocsReply is a node's allocations as of Index.
type NodeAllocsReply struct {
	Allocs []*api.Allocation
	Index  uint64
}

// NodeClientAllocsReply lists a node's allocations as of Index, each with
// its AllocModifyIndex (the last index at which the servers changed it),
// so that a client fetches only those the servers changed (Nomad's
// Node.GetClientAllocs). NodeAllocsArgs asks for it.
//
// When the client asked for changes and Changes is set, Allocs lists only
// the allocations the servers changed after the request's MinIndex,
// Changed carries them in full (as Alloc.GetAllocs answers, so the client
// need not ask) and Removed names those the servers removed: the client
// keeps the others it knows. Otherwise Allocs lists every allocation of
// the node.
type NodeClientAllocsReply struct {
	Allocs  map[string]uint64
	Changed *AllocsGetReply
	Removed []string
	Changes bool
	Index   uint64
}

// AllocsGetArgs asks for allocations by ID (Nomad's Alloc.GetAllocs); a
// client may ask only for allocations placed on its node.
type AllocsGetArgs struct {
	AllocIDs []string
	NodeAuth
}

// AllocsGetReply carries the allocations asked for that exist. Each job
// version travels once: an allocation's Job is nil, and AllocJob[i] is the
// index in Jobs of the job of Allocs[i] (-1 for none).
type AllocsGetReply struct {
	Allocs   []*api.Allocation
	Jobs     []*api.Job
	AllocJob []int
}

// AllocUpdateArgs carries client-side allocation state.
type AllocUpdateArgs struct {
	Allocs []*api.Allocation
	NodeAuth
}

// NodeEligibilityArgs changes a node's eligibility.
type NodeEligibilityArgs struct {
	NodeID, Eligibility string
	WriteRequest
}

// NodeIDArgs names a node to evaluate or purge.
type NodeIDArgs struct {
	NodeID string
	WriteRequest
}

// NodeEvalReply lists the evaluations a node operation created.
type NodeEvalReply struct {
	EvalIDs []string
	Index   uint64
}

// NodeDrainArgs sets or clears a node's drain.
type NodeDrainArgs struct {
	NodeID       string
	Strategy     *api.DrainStrategy
	MarkEligible bool
	// Meta is kept in the node's LastDrain.
	Meta map[string]string
	WriteRequest
}

// IndexReply is the Raft index a write committed at.
type IndexReply struct {
	Index uint64
}

// EmptyArgs is for endpoints without arguments.
type EmptyArgs struct{}

// LeaderReply names the leader's RPC and HTTP addresses.
type LeaderReply struct {
	RPCAddr  string
	HTTPAddr string
}

// EvalDeleteArgs names the evaluations to delete: by ID, or by a go-bexpr
// filter over them.
type EvalDeleteArgs struct {
	EvalIDs []string
	Filter  string
	WriteRequest
}

// EvalDeleteReply counts the evaluations deleted.
type EvalDeleteReply struct {
	Count int
	Index uint64
}

// NodeSignIdentityArgs asks for a node's identity.
type NodeSignIdentityArgs struct {
	NodeID string
	NodeAuth
}

// NodeSignIdentityReply is a node's signed identity.
type NodeSignIdentityReply struct {
	JWT string
}

// ClientIntroductionTokenArgs asks for a client introduction token.
type ClientIntroductionTokenArgs struct {
	TTL      time.Duration
	NodeName string
	NodePool string
}
