package server

import (
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// nodePoolEndpoint serves "NodePool.*": writes need the node_pool rule's
// write (upsert) or delete capability on every pool they name.
type nodePoolEndpoint struct{ s *Server }

// Upsert creates or updates node pools.
func (e *nodePoolEndpoint) Upsert(args *structs.NodePoolUpsertArgs, reply *structs.IndexReply) error {
	index, err := e.s.UpsertNodePools(args.AuthToken, args.Pools)
	reply.Index = index
	return err
}

// Delete deletes node pools.
func (e *nodePoolEndpoint) Delete(args *structs.NodePoolDeleteArgs, reply *structs.IndexReply) error {
	index, err := e.s.DeleteNodePools(args.AuthToken, args.Names)
	reply.Index = index
	return err
}

// poolsAllowed checks cap on every pool named.
func poolsAllowed(names []string, cap string) func(*acl.ACL) bool {
	return func(a *acl.ACL) bool {
		for _, n := range names {
			if !a.AllowNodePoolOperation(n, cap) {
				return false
			}
		}
		return true
	}
}

// UpsertNodePools validates and stores node pools, in one Raft entry.
func (s *Server) UpsertNodePools(token string, pools []*api.NodePool) (uint64, error) {
	var names []string
	for _, p := range pools {
		if p != nil {
			names = append(names, p.Name)
		}
	}
	if err := s.authorize(token, poolsAllowed(names, acl.NodePoolCapabilityWrite)); err != nil {
		return 0, err
	}
	var reply structs.IndexReply
	args := &structs.NodePoolUpsertArgs{Pools: pools, WriteRequest: structs.WriteRequest{AuthToken: token}}
	if done, err := s.forward("NodePool.Upsert", args, &reply); done {
		return reply.Index, err
	}
	if len(pools) == 0 {
		return 0, fmt.Errorf("%w: missing node pool", ErrInvalid)
	}
	for _, p := range pools {
		if err := structs.ValidateNodePool(p); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return s.raftApply(structs.NodePoolUpsertRequestType, &structs.NodePoolUpsertRequest{Pools: pools})
}

// DeleteNodePools deletes node pools, all or none; the state store refuses
// built-in pools and those that still have nodes or jobs.
func (s *Server) DeleteNodePools(token string, names []string) (uint64, error) {
	if err := s.authorize(token, poolsAllowed(names, acl.NodePoolCapabilityDelete)); err != nil {
		return 0, err
	}
	var reply structs.IndexReply
	args := &structs.NodePoolDeleteArgs{Names: names, WriteRequest: structs.WriteRequest{AuthToken: token}}
	if done, err := s.forward("NodePool.Delete", args, &reply); done {
		return reply.Index, err
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("%w: missing node pool name", ErrInvalid)
	}
	return s.raftApply(structs.NodePoolDeleteRequestType, &structs.NodePoolDeleteRequest{Names: names})
}

// requireNodePool refuses a job in a node pool that does not exist.
func requireNodePool(snap *state.Snapshot, job *api.Job) error {
	if job.NodePool == nil || *job.NodePool == "" {
		return nil
	}
	pool, err := snap.NodePoolByName(*job.NodePool)
	if err != nil {
		return err
	}
	if pool == nil {
		return fmt.Errorf("%w: job %q is in nonexistent node pool %q", ErrInvalid, *job.ID, *job.NodePool)
	}
	return nil
}
