package structs

import (
	"time"

	"github.com/hashicorp/nomad/api"
)

// ReplicationFetchArgs asks the authoritative region for the state it
// replicates, once it has changed past MinIndex (a blocking query of at
// most Wait; MinIndex 0 answers at once).
type ReplicationFetchArgs struct {
	MinIndex uint64
	Wait     time.Duration
}

// ReplicationFetchReply is the replicated state of the authoritative
// region as of Index: ACL policies, roles, global tokens (with their
// secrets: it travels only between servers), auth methods and binding
// rules, namespaces and node pools (the built-in ones left out).
type ReplicationFetchReply struct {
	Index        uint64
	Policies     []*api.ACLPolicy
	Roles        []*api.ACLRole
	Tokens       []*api.ACLToken
	AuthMethods  []*api.ACLAuthMethod
	BindingRules []*api.ACLBindingRule
	Namespaces   []*api.Namespace
	NodePools    []*api.NodePool
}
