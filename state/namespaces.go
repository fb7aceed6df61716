package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableNamespaces holds *api.Namespace by name.
const tableNamespaces = "namespaces"

func namespacesTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableNamespaces, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
	}}
}

// NamespaceError is a write refused because of a namespace: it does not
// exist, or it cannot be deleted. The write changes nothing.
type NamespaceError struct{ msg string }

func (e *NamespaceError) Error() string { return e.msg }

func namespaceErrorf(format string, args ...any) error {
	return &NamespaceError{msg: fmt.Sprintf(format, args...)}
}

// NamespaceByName returns a namespace, or nil.
func (s *Snapshot) NamespaceByName(name string) (*api.Namespace, error) {
	ch, raw, err := s.txn.FirstWatch(tableNamespaces, "id", name)
	if err != nil {
		return nil, fmt.Errorf("namespace lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.Namespace), nil
}

// Namespaces lists the namespaces whose name has prefix, by name.
func (s *Snapshot) Namespaces(prefix string) ([]*api.Namespace, error) {
	it, err := s.txn.Get(tableNamespaces, "id_prefix", prefix)
	if err != nil {
		return nil, fmt.Errorf("namespace list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Namespace
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.Namespace))
	}
	return out, nil
}

// NamespacesIndex is the Raft index at which namespaces last changed.
func (s *Snapshot) NamespacesIndex() uint64 { return s.Index(tableNamespaces) }

// UpsertNamespaces creates or updates namespaces at index; an update keeps
// the namespace's create index.
func (s *Store) UpsertNamespaces(index uint64, req *structs.NamespaceUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, ns := range req.Namespaces {
			raw, err := tx.First(tableNamespaces, "id", ns.Name)
			if err != nil {
				return fmt.Errorf("namespace lookup: %w", err)
			}
			c := *ns
			c.CreateIndex, c.ModifyIndex = index, index
			if raw != nil {
				c.CreateIndex = raw.(*api.Namespace).CreateIndex
			}
			if err := tx.insert(tableNamespaces, &c); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteNamespaces deletes namespaces at index, all or none: the default
// namespace cannot be deleted, nor one that still holds a job that is not
// dead, a live allocation or a variable.
func (s *Store) DeleteNamespaces(index uint64, req *structs.NamespaceDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, name := range req.Names {
			raw, err := tx.First(tableNamespaces, "id", name)
			if err != nil {
				return fmt.Errorf("namespace lookup: %w", err)
			}
			if raw == nil {
				return fmt.Errorf("namespace %q: %w", name, ErrNotFound)
			}
			if err := namespaceDeletable(tx.Txn, name); err != nil {
				return err
			}
			if err := tx.delete(tableNamespaces, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// namespaceDeletable reports why a namespace cannot be deleted, if it
// cannot.
func namespaceDeletable(txn *memdb.Txn, name string) error {
	if name == structs.DefaultNamespace {
		return namespaceErrorf("the default namespace can not be deleted")
	}
	jobs, err := txn.Get(tableJobs, "id_prefix", name, "")
	if err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	for raw := jobs.Next(); raw != nil; raw = jobs.Next() {
		if j := raw.(*jobRow).Job; j.Status == nil || *j.Status != structs.JobStatusDead {
			return namespaceErrorf("namespace %q contains non-terminal job %q: stop every job of a namespace before deleting it", name, *j.ID)
		}
	}
	groups, err := txn.Get(tableJobAllocs, "id_prefix", name, "")
	if err != nil {
		return fmt.Errorf("alloc list: %w", err)
	}
	for raw := groups.Next(); raw != nil; raw = groups.Next() {
		for _, row := range raw.(*allocGroup).Allocs {
			// An allocation the server stopped may still run on its
			// client until the client reports it finished.
			if a := row.Allocation; !structs.AllocClientTerminal(a) {
				return namespaceErrorf("namespace %q contains non-terminal allocation %q: wait for its allocations to stop before deleting it", name, a.ID)
			}
		}
	}
	vars, err := txn.Get(tableVars, "id_prefix", name, "")
	if err != nil {
		return fmt.Errorf("variable list: %w", err)
	}
	if raw := vars.Next(); raw != nil {
		return namespaceErrorf("namespace %q contains variable %q: delete every variable of a namespace before deleting it", name, raw.(*structs.Var).Path)
	}
	return nil
}

// requireNamespace refuses a write into a namespace that does not exist.
func (tx *writeTxn) requireNamespace(name, what string) error {
	raw, err := tx.First(tableNamespaces, "id", name)
	if err != nil {
		return fmt.Errorf("namespace lookup: %w", err)
	}
	if raw == nil {
		return namespaceErrorf("%s is in nonexistent namespace %q", what, name)
	}
	return nil
}

// insertDefaultNamespace adds the default namespace to a new store, as
// every Nomad cluster has it from the start.
func insertDefaultNamespace(db *memdb.MemDB) error {
	tx := db.Txn(true)
	defer tx.Abort()
	if err := tx.Insert(tableNamespaces, structs.DefaultNamespaceObject()); err != nil {
		return fmt.Errorf("create default namespace: %w", err)
	}
	tx.Commit()
	return nil
}
