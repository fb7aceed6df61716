package server

import (
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// namespaceEndpoint serves "Namespace.*": followers forward namespace
// writes to the leader through it.
type namespaceEndpoint struct{ s *Server }

// Upsert creates or updates namespaces.
func (e *namespaceEndpoint) Upsert(args *structs.NamespaceUpsertRequest, reply *structs.IndexReply) error {
	index, err := e.s.UpsertNamespaces(args.Namespaces)
	reply.Index = index
	return err
}

// Delete deletes namespaces.
func (e *namespaceEndpoint) Delete(args *structs.NamespaceDeleteRequest, reply *structs.IndexReply) error {
	index, err := e.s.DeleteNamespaces(args.Names)
	reply.Index = index
	return err
}

// UpsertNamespaces validates and stores namespaces, in one Raft entry.
func (s *Server) UpsertNamespaces(namespaces []*api.Namespace) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("Namespace.Upsert", &structs.NamespaceUpsertRequest{Namespaces: namespaces}, &reply); done {
		return reply.Index, err
	}
	if len(namespaces) == 0 {
		return 0, fmt.Errorf("%w: missing namespace", ErrInvalid)
	}
	for _, ns := range namespaces {
		if err := structs.ValidateNamespace(ns); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return s.raftApply(structs.NamespaceUpsertRequestType, &structs.NamespaceUpsertRequest{Namespaces: namespaces})
}

// DeleteNamespaces deletes namespaces, all or none. The state store
// refuses the default namespace and those that still hold work; such a
// refusal is an invalid request.
func (s *Server) DeleteNamespaces(names []string) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("Namespace.Delete", &structs.NamespaceDeleteRequest{Names: names}, &reply); done {
		return reply.Index, err
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("%w: missing namespace name", ErrInvalid)
	}
	return s.raftApply(structs.NamespaceDeleteRequestType, &structs.NamespaceDeleteRequest{Names: names})
}

// lookupNamespace returns the namespace work names, refusing one that
// does not exist.
func lookupNamespace(snap *state.Snapshot, namespace, what string) (*api.Namespace, error) {
	ns, err := snap.NamespaceByName(namespace)
	if err != nil {
		return nil, err
	}
	if ns == nil {
		return nil, fmt.Errorf("%w: %s is in nonexistent namespace %q", ErrInvalid, what, namespace)
	}
	return ns, nil
}
