package structs

import (
	"time"

	"github.com/hashicorp/nomad/api"
)

// QueryArgs are the common part of a blocking read: answer once the data's
// index passes MinIndex or Wait has passed. AuthToken is the token the read
// acts with (a task's workload identity, for templates); NodeAuth proves
// which client asks.
type QueryArgs struct {
	Namespace string
	MinIndex  uint64
	Wait      time.Duration
	WriteRequest
	NodeAuth
}

// VarReadArgs reads one variable ("Var.Read").
type VarReadArgs struct {
	Path string
	QueryArgs
}

// VarReadReply is a variable with its items, nil when none exists at the
// path, as of Index.
type VarReadReply struct {
	Var   *api.Variable
	Index uint64
}

// VarListArgs lists the variables under a path prefix ("Var.List").
type VarListArgs struct {
	Prefix string
	QueryArgs
}

// VarListReply is the metadata of the variables the token may list.
type VarListReply struct {
	Vars  []*api.VariableMetadata
	Index uint64
}

// ServiceListArgs lists service registrations ("ServiceRegistration.List"):
// those of one service, or with Name empty, all of the namespace.
type ServiceListArgs struct {
	Name string
	QueryArgs
}

// ServiceListReply is the registrations as of Index.
type ServiceListReply struct {
	Services []*api.ServiceRegistration
	Index    uint64
}
