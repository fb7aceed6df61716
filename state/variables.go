package state

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-project/roam/structs"
)

// tableVars holds variables, keyed by namespace and path.
const tableVars = "variables"

// VarConflictError is a check-and-set that found another ModifyIndex than
// the one it was given. Current is the stored variable, or one with only
// Namespace and Path set when none exists.
type VarConflictError struct {
	CheckIndex uint64
	Current    *structs.Var
}

func (e *VarConflictError) Error() string {
	return fmt.Sprintf("variable %q: check-and-set conflict: check index %d, current modify index %d",
		e.Current.Path, e.CheckIndex, e.Current.ModifyIndex)
}

// VarApply applies a variable operation at index. A failed check-and-set
// returns a *VarConflictError and changes nothing.
func (s *Store) VarApply(index uint64, req *structs.VarApplyRequest) error {
	if req.Var == nil {
		return fmt.Errorf("variable %s: request has no variable", req.Op)
	}
	return s.write(index, func(tx *writeTxn) error {
		existing, err := tx.varGet(req.Var.Namespace, req.Var.Path)
		if err != nil {
			return err
		}
		if req.Op == structs.VarOpSet || req.Op == structs.VarOpCAS {
			if err := tx.requireNamespace(req.Var.Namespace, fmt.Sprintf("variable %q", req.Var.Path)); err != nil {
				return err
			}
		}
		if err := lockCheck(req, existing); err != nil {
			return err
		}
		switch req.Op {
		case structs.VarOpLockAcquire:
			return tx.varSet(lockedCopy(req.Var, existing), existing, req.Time)
		case structs.VarOpLockRelease:
			released := *existing
			released.Lock = nil
			return tx.varSet(&released, existing, req.Time)
		case structs.VarOpSet:
			return tx.varSet(keepLock(req.Var, existing), existing, req.Time)
		case structs.VarOpCAS:
			if err := casCheck(req, existing); err != nil {
				return err
			}
			return tx.varSet(keepLock(req.Var, existing), existing, req.Time)
		case structs.VarOpDelete:
			return tx.varDelete(existing)
		case structs.VarOpDeleteCAS:
			if err := casCheck(req, existing); err != nil {
				return err
			}
			return tx.varDelete(existing)
		default:
			return fmt.Errorf("variable %q: unknown operation %q", req.Var.Path, req.Op)
		}
	})
}

// lockCheck refuses, as a conflict, a request on a locked variable that
// does not carry the lock's ID, a second acquisition, and a release of a
// lock that is not held (by that ID).
func lockCheck(req *structs.VarApplyRequest, existing *structs.Var) error {
	held := existing != nil && existing.Lock != nil
	conflict := func() error {
		current := existing
		if current == nil {
			current = &structs.Var{Namespace: req.Var.Namespace, Path: req.Var.Path}
		}
		return &VarConflictError{Current: current}
	}
	switch {
	case req.Op == structs.VarOpLockAcquire:
		if held {
			return conflict()
		}
	case !held:
		if req.Op == structs.VarOpLockRelease {
			return conflict()
		}
	case req.Var.Lock == nil || req.Var.Lock.ID != existing.Lock.ID:
		return conflict()
	}
	return nil
}

// lockedCopy is the variable a lock acquisition stores: the request's
// items, or the stored ones when it brings none, under the request's lock.
func lockedCopy(v, existing *structs.Var) *structs.Var {
	out := *v
	if len(out.Data) == 0 && existing != nil {
		out.KeyID, out.Data = existing.KeyID, existing.Data
	}
	return &out
}

// keepLock is a write of v that leaves the stored variable's lock as it is.
func keepLock(v, existing *structs.Var) *structs.Var {
	out := *v
	out.Lock = nil
	if existing != nil {
		out.Lock = existing.Lock
	}
	return &out
}

// casCheck compares a check-and-set request with the stored variable.
func casCheck(req *structs.VarApplyRequest, existing *structs.Var) error {
	switch {
	case existing == nil && req.CheckIndex == 0:
		return nil
	case existing == nil:
		return &VarConflictError{CheckIndex: req.CheckIndex, Current: &structs.Var{Namespace: req.Var.Namespace, Path: req.Var.Path}}
	case existing.ModifyIndex != req.CheckIndex:
		return &VarConflictError{CheckIndex: req.CheckIndex, Current: existing}
	}
	return nil
}

func (tx *writeTxn) varGet(namespace, path string) (*structs.Var, error) {
	raw, err := tx.First(tableVars, "id", namespace, path)
	if err != nil {
		return nil, fmt.Errorf("variable lookup: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Var), nil
}

// varSet stores a copy of v, keeping the creation metadata of existing.
func (tx *writeTxn) varSet(v, existing *structs.Var, now int64) error {
	stored := *v
	stored.CreateIndex, stored.CreateTime = tx.index, now
	if existing != nil {
		stored.CreateIndex, stored.CreateTime = existing.CreateIndex, existing.CreateTime
	}
	stored.ModifyIndex, stored.ModifyTime = tx.index, now
	return tx.insert(tableVars, &stored)
}

func (tx *writeTxn) varDelete(existing *structs.Var) error {
	if existing == nil {
		return nil
	}
	return tx.delete(tableVars, existing)
}

// VarGet returns the variable at namespace and path, or nil.
func (s *Snapshot) VarGet(namespace, path string) (*structs.Var, error) {
	ch, raw, err := s.txn.FirstWatch(tableVars, "id", namespace, path)
	if err != nil {
		return nil, fmt.Errorf("variable lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Var), nil
}

// VarsByPrefix lists the variables of namespace whose path starts with
// prefix, ordered by path; namespace "*" lists every namespace's.
func (s *Snapshot) VarsByPrefix(namespace, prefix string) ([]*structs.Var, error) {
	args := []any{namespace, prefix}
	if namespace == "*" {
		args = []any{""}
	}
	it, err := s.txn.Get(tableVars, "id_prefix", args...)
	if err != nil {
		return nil, fmt.Errorf("variable list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*structs.Var
	for raw := it.Next(); raw != nil; raw = it.Next() {
		v := raw.(*structs.Var)
		if strings.HasPrefix(v.Path, prefix) {
			out = append(out, v)
		}
	}
	return out, nil
}

// VarsIndex is the Raft index at which variables last changed.
func (s *Snapshot) VarsIndex() uint64 { return s.Index(tableVars) }

// varsTableSchema indexes variables by namespace and path.
func varsTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableVars, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"},
			&memdb.StringFieldIndex{Field: "Path"},
		}}},
	}}
}
