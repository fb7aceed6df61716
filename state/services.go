package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableServices holds Nomad-provider service registrations.
const tableServices = "service_registrations"

// servicesTableSchema indexes registrations by ID, by namespace and service
// name, by allocation and by node.
func servicesTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableServices, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"service_name": {Name: "service_name", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"},
			&memdb.StringFieldIndex{Field: "ServiceName"},
		}}},
		"alloc_id": {Name: "alloc_id", Indexer: &memdb.StringFieldIndex{Field: "AllocID"}},
		"node_id":  {Name: "node_id", Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
	}}
}

// ServicesIndex is the Raft index at which registrations last changed.
func (s *Snapshot) ServicesIndex() uint64 { return s.Index(tableServices) }

// ServiceRegistrations lists the registrations of a namespace ("*": all),
// ordered by service name, then ID.
func (s *Snapshot) ServiceRegistrations(namespace string) ([]*api.ServiceRegistration, error) {
	if namespace == "*" {
		return s.serviceList("id")
	}
	return s.serviceList("service_name_prefix", namespace, "")
}

// ServiceRegistrationsByName lists the registrations of one service.
func (s *Snapshot) ServiceRegistrationsByName(namespace, name string) ([]*api.ServiceRegistration, error) {
	return s.serviceList("service_name", namespace, name)
}

// ServiceRegistrationsByAlloc lists the registrations of an allocation.
func (s *Snapshot) ServiceRegistrationsByAlloc(allocID string) ([]*api.ServiceRegistration, error) {
	return s.serviceList("alloc_id", allocID)
}

// ServiceRegistrationsByNode lists the registrations made by a node.
func (s *Snapshot) ServiceRegistrationsByNode(nodeID string) ([]*api.ServiceRegistration, error) {
	return s.serviceList("node_id", nodeID)
}

// ServiceRegistrationByID returns a registration, or nil.
func (s *Snapshot) ServiceRegistrationByID(id string) (*api.ServiceRegistration, error) {
	ch, raw, err := s.txn.FirstWatch(tableServices, "id", id)
	if err != nil {
		return nil, fmt.Errorf("service registration lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.ServiceRegistration), nil
}

func (s *Snapshot) serviceList(index string, args ...any) ([]*api.ServiceRegistration, error) {
	it, err := s.txn.Get(tableServices, index, args...)
	if err != nil {
		return nil, fmt.Errorf("service registration list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.ServiceRegistration
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.ServiceRegistration))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ServiceName != out[j].ServiceName {
			return out[i].ServiceName < out[j].ServiceName
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// UpsertServiceRegistrations stores registrations. One that is unchanged
// keeps its indexes, so that clients re-publishing their services do not
// wake blocked queries.
func (s *Store) UpsertServiceRegistrations(index uint64, req *structs.ServiceRegistrationUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, reg := range req.Services {
			if err := tx.upsertService(reg); err != nil {
				return err
			}
		}
		return nil
	})
}

func (tx *writeTxn) upsertService(reg *api.ServiceRegistration) error {
	if reg == nil || reg.ID == "" {
		return fmt.Errorf("service registration without an ID")
	}
	raw, err := tx.First(tableServices, "id", reg.ID)
	if err != nil {
		return fmt.Errorf("service registration lookup: %w", err)
	}
	c := *reg
	c.CreateIndex, c.ModifyIndex = tx.index, tx.index
	if raw != nil {
		old := raw.(*api.ServiceRegistration)
		c.CreateIndex, c.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if sameService(old, &c) {
			return nil
		}
		c.ModifyIndex = tx.index
	}
	return tx.insert(tableServices, &c)
}

// sameService compares everything but the indexes.
func sameService(a, b *api.ServiceRegistration) bool {
	if len(a.Tags) != len(b.Tags) {
		return false
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	return a.ID == b.ID && a.ServiceName == b.ServiceName && a.Namespace == b.Namespace &&
		a.NodeID == b.NodeID && a.Datacenter == b.Datacenter && a.JobID == b.JobID &&
		a.AllocID == b.AllocID && a.Address == b.Address && a.Port == b.Port
}

// DeleteServiceRegistrations removes registrations by ID and by allocation.
// IDs that no longer exist are skipped: deletes are idempotent.
func (s *Store) DeleteServiceRegistrations(index uint64, req *structs.ServiceRegistrationDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, id := range req.IDs {
			n, err := tx.DeleteAll(tableServices, "id", id)
			if err != nil {
				return fmt.Errorf("delete service registration %s: %w", id, err)
			}
			if n > 0 {
				tx.touched[tableServices] = true
			}
		}
		return tx.deleteServicesOfAllocs(req.AllocIDs)
	})
}

// deleteServicesOfAllocs removes every registration of the allocations.
func (tx *writeTxn) deleteServicesOfAllocs(allocIDs []string) error {
	for _, id := range allocIDs {
		n, err := tx.DeleteAll(tableServices, "alloc_id", id)
		if err != nil {
			return fmt.Errorf("delete service registrations of alloc %s: %w", id, err)
		}
		if n > 0 {
			tx.touched[tableServices] = true
		}
	}
	return nil
}

// deleteServicesOfTerminalAllocs removes the registrations of allocations
// whose client status is terminal: their tasks no longer serve anything.
func (tx *writeTxn) deleteServicesOfTerminalAllocs(allocs []*api.Allocation) error {
	var ids []string
	for _, a := range allocs {
		switch a.ClientStatus {
		case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
			ids = append(ids, a.ID)
		}
	}
	return tx.deleteServicesOfAllocs(ids)
}
