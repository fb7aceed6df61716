package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/structs"
)

// The server's RPC endpoints: net/rpc receivers whose methods call the
// server's own operations, which forward to the leader where needed.

// jobEndpoint serves "Job.*". Each method checks the token the request
// carries: a follower forwarding an HTTP request passes its caller's on.
type jobEndpoint struct{ s *Server }

func (e *jobEndpoint) Register(args *structs.JobRegisterArgs, reply *structs.JobRegisterReply) error {
	ns := structs.DefaultNamespace
	if args.Job != nil && args.Job.Namespace != nil {
		ns = *args.Job.Namespace
	}
	if err := e.s.authorize(args.AuthToken, nsAllows(ns, acl.NamespaceCapabilitySubmitJob)); err != nil {
		return err
	}
	r, err := e.s.RegisterJob(args)
	return fill(reply, r, err)
}

func (e *jobEndpoint) Deregister(args *structs.JobDeregisterArgs, reply *structs.EvalReply) error {
	if err := e.s.authorize(args.AuthToken, nsAllows(args.Namespace, acl.NamespaceCapabilitySubmitJob)); err != nil {
		return err
	}
	id, index, err := e.s.DeregisterJobOpts(args)
	*reply = structs.EvalReply{EvalID: id, Index: index}
	return err
}

func (e *jobEndpoint) Evaluate(args *structs.JobEvaluateArgs, reply *structs.EvalReply) error {
	if err := e.s.authorize(args.AuthToken, nsAllows(args.Namespace, acl.NamespaceCapabilitySubmitJob)); err != nil {
		return err
	}
	id, index, err := e.s.EvaluateJob(args.AuthToken, args.Namespace, args.JobID, args.ForceReschedule)
	*reply = structs.EvalReply{EvalID: id, Index: index}
	return err
}

func (e *jobEndpoint) Revert(args *structs.JobRevertArgs, reply *structs.JobRegisterReply) error {
	if err := e.s.authorize(args.AuthToken, nsAllows(args.Namespace, acl.NamespaceCapabilitySubmitJob)); err != nil {
		return err
	}
	r, err := e.s.RevertJob(args.AuthToken, args.Namespace, args.JobID, args.Version, args.EnforcePrior)
	return fill(reply, r, err)
}

func (e *jobEndpoint) Scale(args *structs.JobScaleArgs, reply *structs.JobRegisterReply) error {
	if err := e.s.authorize(args.AuthToken, nsAllows(args.Namespace, acl.NamespaceCapabilityScaleJob, acl.NamespaceCapabilitySubmitJob)); err != nil {
		return err
	}
	r, err := e.s.ScaleJob(args)
	return fill(reply, r, err)
}

// allocEndpoint serves "Alloc.*".
type allocEndpoint struct{ s *Server }

func (e *allocEndpoint) Stop(args *structs.AllocStopArgs, reply *structs.EvalReply) error {
	ns := structs.DefaultNamespace
	if a, err := e.s.State().Snapshot().AllocByID(args.AllocID); err == nil && a != nil {
		ns = a.Namespace
	}
	if err := e.s.authorize(args.AuthToken, nsAllows(ns, acl.NamespaceCapabilityAllocLifecycle)); err != nil {
		return err
	}
	id, index, err := e.s.StopAllocOpts(args)
	*reply = structs.EvalReply{EvalID: id, Index: index}
	return err
}

// SignIdentities signs a task's workload identities for the client that
// runs its allocation: the node must prove itself with its SecretID, and
// the allocation must be on that node.
func (e *allocEndpoint) SignIdentities(args *structs.AllocSignIdentitiesArgs, reply *structs.AllocSignIdentitiesReply) error {
	if !args.CallerIsServer() && args.AuthNodeID == "" {
		return errors.New("Permission denied: the call names no node")
	}
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	ids, err := e.s.SignIdentities(args)
	reply.Identities = ids
	return err
}

// GetAllocs returns allocations by ID to the client they are placed on,
// each job version once (see structs.AllocsGetReply): the state store
// shares one job among the allocations of a version.
func (e *allocEndpoint) GetAllocs(args *structs.AllocsGetArgs, reply *structs.AllocsGetReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	allocs, err := e.s.AllocsByIDs(args.AllocIDs)
	if err != nil {
		return err
	}
	for _, a := range allocs {
		if !args.CallerIsServer() && a.NodeID != args.AuthNodeID {
			return fmt.Errorf("Permission denied: allocation %s is not on node %s", a.ID, args.AuthNodeID)
		}
	}
	*reply = *allocsGetReply(allocs)
	return nil
}

// allocsGetReply carries allocs to a client, each job version once.
func allocsGetReply(allocs []*api.Allocation) *structs.AllocsGetReply {
	reply := &structs.AllocsGetReply{Allocs: make([]*api.Allocation, 0, len(allocs)), AllocJob: make([]int, 0, len(allocs))}
	jobIndex := map[*api.Job]int{}
	for _, a := range allocs {
		slim := *a
		slim.Job = nil
		reply.Allocs = append(reply.Allocs, &slim)
		if a.Job == nil {
			reply.AllocJob = append(reply.AllocJob, -1)
			continue
		}
		i, ok := jobIndex[a.Job]
		if !ok {
			i = len(reply.Jobs)
			jobIndex[a.Job] = i
			reply.Jobs = append(reply.Jobs, a.Job)
		}
		reply.AllocJob = append(reply.AllocJob, i)
	}
	return reply
}

// nsAllows is the check that namespace ns grants one of caps.
func nsAllows(ns string, caps ...string) func(*acl.ACL) bool {
	return func(a *acl.ACL) bool {
		for _, c := range caps {
			if a.AllowNamespaceOperation(ns, c) {
				return true
			}
		}
		return false
	}
}

// nodeEndpoint serves "Node.*": what clients call.
type nodeEndpoint struct{ s *Server }

func (e *nodeEndpoint) Register(args *structs.NodeRegisterArgs, reply *structs.HeartbeatReply) error {
	if args.Node == nil {
		return fmt.Errorf("%w: no node to register", ErrInvalid)
	}
	node := args.Node
	if !args.CallerIsServer() {
		if err := e.s.checkNodeSecret(&args.NodeAuth, node.ID, true); err != nil {
			return err
		}
		node = withSecretHash(node, args.SecretID)
	}
	ttl, err := e.s.RegisterNode(node)
	*reply = structs.HeartbeatReply{TTL: ttl, Servers: e.s.ServerAddrs()}
	return err
}

func (e *nodeEndpoint) Heartbeat(args *structs.NodeHeartbeatArgs, reply *structs.HeartbeatReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	ttl, err := e.s.Heartbeat(args.NodeID)
	*reply = structs.HeartbeatReply{TTL: ttl, Servers: e.s.ServerAddrs()}
	return err
}

func (e *nodeEndpoint) GetAllocs(args *structs.NodeAllocsArgs, reply *structs.NodeAllocsReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	allocs, index, err := e.s.NodeAllocations(context.Background(), args.NodeID, args.MinIndex, args.Wait)
	*reply = structs.NodeAllocsReply{Allocs: allocs, Index: index}
	return err
}

// GetClientAllocs names the node's allocations with their AllocModifyIndex,
// blocking until the servers change one; the client then fetches the
// changed ones with Alloc.GetAllocs.
func (e *nodeEndpoint) GetClientAllocs(args *structs.NodeAllocsArgs, reply *structs.NodeClientAllocsReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	got, err := e.s.NodeClientAllocs(context.Background(), args.NodeID, args.MinIndex, args.Wait, args.Changes)
	if err != nil {
		return err
	}
	*reply = *got
	return nil
}

func (e *nodeEndpoint) UpdateAllocs(args *structs.AllocUpdateArgs, reply *structs.IndexReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	if err := e.s.checkAllocsOfNode(&args.NodeAuth, args.Allocs); err != nil {
		return err
	}
	return e.s.UpdateAllocations(args.Allocs)
}

func (e *nodeEndpoint) UpdateEligibility(args *structs.NodeEligibilityArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, (*acl.ACL).AllowNodeWrite); err != nil {
		return err
	}
	index, err := e.s.UpdateEligibility(args.AuthToken, args.NodeID, args.Eligibility)
	reply.Index = index
	return err
}

// Evaluate creates evaluations for the jobs on a node.
func (e *nodeEndpoint) Evaluate(args *structs.NodeIDArgs, reply *structs.NodeEvalReply) error {
	if err := e.s.authorize(args.AuthToken, (*acl.ACL).AllowNodeWrite); err != nil {
		return err
	}
	ids, index, err := e.s.EvaluateNode(args.AuthToken, args.NodeID)
	*reply = structs.NodeEvalReply{EvalIDs: ids, Index: index}
	return err
}

// Purge removes a node from the state.
func (e *nodeEndpoint) Purge(args *structs.NodeIDArgs, reply *structs.NodeEvalReply) error {
	if err := e.s.authorize(args.AuthToken, (*acl.ACL).AllowNodeWrite); err != nil {
		return err
	}
	ids, index, err := e.s.PurgeNode(args.AuthToken, args.NodeID)
	*reply = structs.NodeEvalReply{EvalIDs: ids, Index: index}
	return err
}

func (e *nodeEndpoint) UpdateDrain(args *structs.NodeDrainArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, (*acl.ACL).AllowNodeWrite); err != nil {
		return err
	}
	index, err := e.s.UpdateDrain(args.AuthToken, args.NodeID, args.Strategy, args.MarkEligible, args.Meta)
	reply.Index = index
	return err
}

// GetHostVolumes answers a client's blocking query for the host volumes
// placed on its node.
func (e *nodeEndpoint) GetHostVolumes(args *structs.NodeHostVolumesArgs, reply *structs.NodeHostVolumesReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	vols, index, err := e.s.NodeHostVolumes(context.Background(), args.NodeID, args.MinIndex, args.Wait)
	*reply = structs.NodeHostVolumesReply{Volumes: vols, Index: index}
	return err
}

// UpdateHostVolume records a client's report on a volume of its node.
func (e *nodeEndpoint) UpdateHostVolume(args *structs.HostVolumeUpdateArgs, reply *structs.IndexReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	if !args.CallerIsServer() {
		v, err := e.s.State().Snapshot().HostVolumeByID(args.ID)
		if err != nil {
			return err
		}
		if v != nil && v.NodeID != args.AuthNodeID {
			return fmt.Errorf("Permission denied: host volume %s is not on node %s", args.ID, args.AuthNodeID)
		}
	}
	return e.s.UpdateHostVolume(args)
}

// systemEndpoint serves "System.*".
type systemEndpoint struct{ s *Server }

func (e *systemEndpoint) GarbageCollect(args *structs.WriteRequest, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	return e.s.GarbageCollect(args.AuthToken)
}

// statusEndpoint serves "Status.*".
type statusEndpoint struct{ s *Server }

// Leader names the leader, so that a client agent can send HTTP requests
// it cannot answer itself to the leader's HTTP API.
func (e *statusEndpoint) Leader(args *structs.EmptyArgs, reply *structs.LeaderReply) error {
	reply.RPCAddr = e.s.Leader()
	if e.s.IsLeader() {
		reply.HTTPAddr = e.s.config.HTTPAdvertise
	} else {
		reply.HTTPAddr = e.s.LeaderHTTPAddr()
	}
	if reply.RPCAddr == "" {
		return errNotLeader
	}
	return nil
}

// registerEndpoints publishes the endpoints on the RPC server.
func (s *Server) registerEndpoints() error {
	for name, rcvr := range s.endpoints() {
		if err := s.mux.RPC().Register(name, rcvr); err != nil {
			return fmt.Errorf("register %s endpoint: %w", name, err)
		}
	}
	return nil
}

// endpoints are the RPC endpoints by name ("Job" serves "Job.Register").
func (s *Server) endpoints() map[string]any {
	return map[string]any{
		"Job":                 &jobEndpoint{s},
		"Alloc":               &allocEndpoint{s},
		"Node":                &nodeEndpoint{s},
		"System":              &systemEndpoint{s},
		"Status":              &statusEndpoint{s},
		"ServiceRegistration": &serviceEndpoint{s},
		"Var":                 &varEndpoint{s},
		"Namespace":           &namespaceEndpoint{s},
		"ACL":                 &aclEndpoint{s},
		"Keyring":             &keyringEndpoint{s},
		"Operator":            &operatorEndpoint{s},
		"Eval":                &evalEndpoint{s},
		"NodePool":            &nodePoolEndpoint{s},
		"Network":             &networkEndpoint{s},
		"Replication":         &replicationEndpoint{s},
		"Multiregion":         &multiregionEndpoint{s},
		"HostVolume":          &hostVolumeEndpoint{s},
	}
}

func fill(reply *structs.JobRegisterReply, r *structs.JobRegisterReply, err error) error {
	if r != nil {
		*reply = *r
	}
	return err
}
