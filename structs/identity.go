package structs

// AllocSignIdentitiesArgs asks a server to sign the workload identities of
// one task of an allocation, for the client that runs it.
type AllocSignIdentitiesArgs struct {
	AllocID  string
	TaskName string
	NodeAuth
}

// SignedIdentity is one workload identity of a task: its name and JWT.
type SignedIdentity struct {
	IdentityName string
	JWT          string
}

// AllocSignIdentitiesReply is the task's signed identities, its default
// identity first.
type AllocSignIdentitiesReply struct {
	Identities []*SignedIdentity
}

// WorkloadGrant is the implicit policy of a workload identity: read and
// list on the variables at Paths in Namespace, for task Task of
// allocation AllocID.
type WorkloadGrant struct {
	Namespace string
	AllocID   string
	Task      string
	Paths     []string
}
