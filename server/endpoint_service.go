package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// serviceEndpoint serves "ServiceRegistration.*": clients publish and
// withdraw their allocations' Nomad-provider services through it.
type serviceEndpoint struct{ s *Server }

// Upsert stores registrations.
func (e *serviceEndpoint) Upsert(args *structs.ServiceRegistrationUpsertArgs, reply *structs.IndexReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	for _, reg := range args.Services {
		if !args.CallerIsServer() && reg != nil && reg.NodeID != args.AuthNodeID {
			return fmt.Errorf("Permission denied: service %s is not registered by node %s", reg.ID, args.AuthNodeID)
		}
	}
	return e.s.UpsertServiceRegistrations(args.Services)
}

// Delete removes registrations by ID.
func (e *serviceEndpoint) Delete(args *structs.ServiceRegistrationDeleteArgs, reply *structs.IndexReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	if !args.CallerIsServer() {
		snap := e.s.State().Snapshot()
		for _, id := range args.IDs {
			reg, err := snap.ServiceRegistrationByID(id)
			if err != nil {
				return err
			}
			if reg != nil && reg.NodeID != args.AuthNodeID {
				return fmt.Errorf("Permission denied: service %s is not registered by node %s", id, args.AuthNodeID)
			}
		}
	}
	index, err := e.s.DeleteServiceRegistrations(args.Namespace, args.IDs)
	reply.Index = index
	return err
}

// UpsertServiceRegistrations stores service registrations a client made.
// Registrations of allocations that are gone or already terminal are
// dropped, so that a late registration cannot outlive its allocation.
func (s *Server) UpsertServiceRegistrations(regs []*api.ServiceRegistration) error {
	if done, err := s.forward("ServiceRegistration.Upsert", &structs.ServiceRegistrationUpsertArgs{Services: regs}, &structs.IndexReply{}); done {
		return err
	}
	snap := s.State().Snapshot()
	req := &structs.ServiceRegistrationUpsertRequest{Time: time.Now().UnixNano()}
	for _, reg := range regs {
		if err := validateServiceRegistration(reg); err != nil {
			return err
		}
		alloc, err := snap.AllocByID(reg.AllocID)
		if err != nil {
			return err
		}
		if alloc == nil || isClientTerminal(alloc.ClientStatus) {
			s.logger.Debug("dropped service registration of a finished allocation", "service", reg.ServiceName, "alloc_id", reg.AllocID)
			continue
		}
		c := *reg
		if c.Namespace == "" {
			c.Namespace = "default"
		}
		req.Services = append(req.Services, &c)
	}
	if len(req.Services) == 0 {
		return nil
	}
	_, err := s.raftApply(structs.ServiceRegistrationUpsertRequestType, req)
	return err
}

func validateServiceRegistration(reg *api.ServiceRegistration) error {
	switch {
	case reg == nil:
		return fmt.Errorf("%w: empty service registration", ErrInvalid)
	case reg.ID == "" || reg.ServiceName == "" || reg.AllocID == "":
		return fmt.Errorf("%w: service registration needs an ID, a service name and an allocation ID", ErrInvalid)
	case reg.Port < 0 || reg.Port > 65535:
		return fmt.Errorf("%w: service %q: port %d out of range", ErrInvalid, reg.ServiceName, reg.Port)
	}
	return nil
}

func isClientTerminal(status string) bool {
	switch status {
	case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
		return true
	}
	return false
}

// DeleteServiceRegistrations removes registrations by ID. With a namespace
// (an operator's delete) every ID must exist in it; without one (a client
// withdrawing its own services) IDs already gone are skipped.
func (s *Server) DeleteServiceRegistrations(namespace string, ids []string) (uint64, error) {
	var reply structs.IndexReply
	args := &structs.ServiceRegistrationDeleteArgs{Namespace: namespace, IDs: ids}
	if done, err := s.forward("ServiceRegistration.Delete", args, &reply); done {
		return reply.Index, err
	}
	if namespace != "" {
		snap := s.State().Snapshot()
		for _, id := range ids {
			reg, err := snap.ServiceRegistrationByID(id)
			if err != nil {
				return 0, err
			}
			if reg == nil || reg.Namespace != namespace {
				return 0, fmt.Errorf("service registration %s: %w", id, ErrNotFound)
			}
		}
	}
	req := &structs.ServiceRegistrationDeleteRequest{IDs: ids, Time: time.Now().UnixNano()}
	return s.raftApply(structs.ServiceRegistrationDeleteRequestType, req)
}

// List answers a client's blocking list of registrations, for a task's
// template.
func (e *serviceEndpoint) List(args *structs.ServiceListArgs, reply *structs.ServiceListReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	r, err := e.s.ListServiceRegistrations(e.s.shutdownCtx, args)
	if r != nil {
		*reply = *r
	}
	return err
}

// ListServiceRegistrations lists the registrations of one service (or, with
// no name, of the whole namespace) once their index passes args.MinIndex;
// the token must grant read-job in the namespace, as Nomad's service API
// requires, or be a workload identity of it. Reads are served from this
// server's state.
func (s *Server) ListServiceRegistrations(ctx context.Context, args *structs.ServiceListArgs) (*structs.ServiceListReply, error) {
	ns := orDefaultNamespace(args.Namespace)
	if err := s.authorize(args.AuthToken, func(a *acl.ACL) bool { return a.AllowServiceRead(ns) }); err != nil {
		return nil, err
	}
	reply := &structs.ServiceListReply{}
	var err error
	reply.Index, err = s.State().BlockingQuery(ctx, args.MinIndex, args.Wait, func(snap *state.Snapshot) (uint64, error) {
		var err error
		if args.Name == "" {
			reply.Services, err = snap.ServiceRegistrations(ns)
		} else {
			reply.Services, err = snap.ServiceRegistrationsByName(ns, args.Name)
		}
		return max(snap.ServicesIndex(), 1), err
	})
	if err != nil {
		return nil, err
	}
	return reply, nil
}
