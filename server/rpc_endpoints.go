package server

import (
	"context"
	"fmt"

	"github.com/roam-project/roam/structs"
)

// The server's RPC endpoints: net/rpc receivers whose methods call the
// server's own operations, which forward to the leader where needed.

// jobEndpoint serves "Job.*".
type jobEndpoint struct{ s *Server }

func (e *jobEndpoint) Register(args *structs.JobRegisterArgs, reply *structs.JobRegisterReply) error {
	r, err := e.s.RegisterJob(args)
	return fill(reply, r, err)
}

func (e *jobEndpoint) Deregister(args *structs.JobDeregisterArgs, reply *structs.EvalReply) error {
	id, index, err := e.s.DeregisterJob(args.Namespace, args.JobID, args.Purge)
	*reply = structs.EvalReply{EvalID: id, Index: index}
	return err
}

func (e *jobEndpoint) Evaluate(args *structs.JobEvaluateArgs, reply *structs.EvalReply) error {
	id, index, err := e.s.EvaluateJob(args.Namespace, args.JobID)
	*reply = structs.EvalReply{EvalID: id, Index: index}
	return err
}

func (e *jobEndpoint) Revert(args *structs.JobRevertArgs, reply *structs.JobRegisterReply) error {
	r, err := e.s.RevertJob(args.Namespace, args.JobID, args.Version, args.EnforcePrior)
	return fill(reply, r, err)
}

func (e *jobEndpoint) Scale(args *structs.JobScaleArgs, reply *structs.JobRegisterReply) error {
	r, err := e.s.ScaleJob(args.Namespace, args.JobID, args.Group, args.Count)
	return fill(reply, r, err)
}

// allocEndpoint serves "Alloc.*".
type allocEndpoint struct{ s *Server }

func (e *allocEndpoint) Stop(args *structs.AllocStopArgs, reply *structs.EvalReply) error {
	id, index, err := e.s.StopAlloc(args.AllocID)
	*reply = structs.EvalReply{EvalID: id, Index: index}
	return err
}

// nodeEndpoint serves "Node.*": what clients call.
type nodeEndpoint struct{ s *Server }

func (e *nodeEndpoint) Register(args *structs.NodeRegisterArgs, reply *structs.HeartbeatReply) error {
	ttl, err := e.s.RegisterNode(args.Node)
	*reply = structs.HeartbeatReply{TTL: ttl, Servers: e.s.ServerAddrs()}
	return err
}

func (e *nodeEndpoint) Heartbeat(args *structs.NodeHeartbeatArgs, reply *structs.HeartbeatReply) error {
	ttl, err := e.s.Heartbeat(args.NodeID)
	*reply = structs.HeartbeatReply{TTL: ttl, Servers: e.s.ServerAddrs()}
	return err
}

func (e *nodeEndpoint) GetAllocs(args *structs.NodeAllocsArgs, reply *structs.NodeAllocsReply) error {
	allocs, index, err := e.s.NodeAllocations(context.Background(), args.NodeID, args.MinIndex, args.Wait)
	*reply = structs.NodeAllocsReply{Allocs: allocs, Index: index}
	return err
}

func (e *nodeEndpoint) UpdateAllocs(args *structs.AllocUpdateArgs, reply *structs.IndexReply) error {
	return e.s.UpdateAllocations(args.Allocs)
}

func (e *nodeEndpoint) UpdateEligibility(args *structs.NodeEligibilityArgs, reply *structs.IndexReply) error {
	index, err := e.s.UpdateEligibility(args.NodeID, args.Eligibility)
	reply.Index = index
	return err
}

func (e *nodeEndpoint) UpdateDrain(args *structs.NodeDrainArgs, reply *structs.IndexReply) error {
	index, err := e.s.UpdateDrain(args.NodeID, args.Strategy, args.MarkEligible)
	reply.Index = index
	return err
}

// systemEndpoint serves "System.*".
type systemEndpoint struct{ s *Server }

func (e *systemEndpoint) GarbageCollect(args *structs.EmptyArgs, reply *structs.IndexReply) error {
	return e.s.GarbageCollect()
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
	for name, rcvr := range map[string]any{
		"Job":                 &jobEndpoint{s},
		"Alloc":               &allocEndpoint{s},
		"Node":                &nodeEndpoint{s},
		"System":              &systemEndpoint{s},
		"Status":              &statusEndpoint{s},
		"ServiceRegistration": &serviceEndpoint{s},
		"Var":                 &varEndpoint{s},
		"Keyring":             &keyringEndpoint{s},
		"ACL":                 &aclEndpoint{s},
	} {
		if err := s.mux.RPC().Register(name, rcvr); err != nil {
			return fmt.Errorf("register %s endpoint: %w", name, err)
		}
	}
	return nil
}

func fill(reply *structs.JobRegisterReply, r *structs.JobRegisterReply, err error) error {
	if r != nil {
		*reply = *r
	}
	return err
}
