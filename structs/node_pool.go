package structs

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/nomad/api"
)

// NodePoolUpsertRequest is the Raft entry that creates or updates node
// pools.
type NodePoolUpsertRequest struct {
	Pools []*api.NodePool
}

// NodePoolDeleteRequest is the Raft entry that deletes node pools.
type NodePoolDeleteRequest struct {
	Names []string
}

// NodePoolUpsertArgs carries node pools to the leader.
type NodePoolUpsertArgs struct {
	Pools []*api.NodePool
	WriteRequest
}

// NodePoolDeleteArgs carries node pool names to delete to the leader.
type NodePoolDeleteArgs struct {
	Names []string
	WriteRequest
}

// BuiltinNodePools are the pools every cluster has: "default", where nodes
// and jobs that name none go, and "all", whose jobs may run on every node.
func BuiltinNodePools() []*api.NodePool {
	return []*api.NodePool{
		{Name: NodePoolAll, Description: "Node pool with all nodes in the cluster.", CreateIndex: 1, ModifyIndex: 1},
		{Name: NodePoolDefault, Description: "Default node pool.", CreateIndex: 1, ModifyIndex: 1},
	}
}

// IsBuiltinNodePool reports the pools that cannot be changed or deleted.
func IsBuiltinNodePool(name string) bool { return name == NodePoolAll || name == NodePoolDefault }

// validNodePoolName is what Nomad allows in a node pool's name.
var validNodePoolName = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,128}$`)

// ValidateNodePool checks a node pool before it is stored.
func ValidateNodePool(p *api.NodePool) error {
	if p == nil {
		return fmt.Errorf("missing node pool")
	}
	if !validNodePoolName.MatchString(p.Name) {
		return fmt.Errorf("invalid node pool name %q: must be 1 to 128 letters, digits, dashes and underscores", p.Name)
	}
	if len(p.Description) > 256 {
		return fmt.Errorf("node pool description longer than 256 characters")
	}
	if sc := p.SchedulerConfiguration; sc != nil {
		switch sc.SchedulerAlgorithm {
		case "", api.SchedulerAlgorithmBinpack, api.SchedulerAlgorithmSpread:
		default:
			return fmt.Errorf("invalid scheduler algorithm %q: must be %q or %q", sc.SchedulerAlgorithm, api.SchedulerAlgorithmBinpack, api.SchedulerAlgorithmSpread)
		}
	}
	return nil
}
