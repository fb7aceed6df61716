package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// ApplyVar writes or deletes a variable on the leader. Items are sealed
// with the keyring before they reach Raft, so neither the log nor the
// state store holds them in the clear. A failed check-and-set is no error:
// the reply's Conflict carries the current variable.
func (s *Server) ApplyVar(args *structs.VarApplyArgs) (*structs.VarApplyReply, error) {
	var reply structs.VarApplyReply
	if done, err := s.forward("Var.Apply", args, &reply); done {
		return &reply, err
	}
	if args.Var == nil {
		return nil, fmt.Errorf("%w: missing variable", ErrInvalid)
	}
	stored, err := s.sealVar(args.Op, args.Var)
	if err != nil {
		return nil, err
	}
	key := varKey{stored.Namespace, stored.Path}
	if args.Op == structs.VarOpLockAcquire {
		if s.locks.delayed(key) {
			return s.varConflict(key)
		}
		if stored.Lock, err = newLock(args.Var.Lock); err != nil {
			return nil, err
		}
	}
	req := &structs.VarApplyRequest{Op: args.Op, Var: stored, CheckIndex: args.CheckIndex, Time: time.Now().UnixNano()}
	index, err := s.raftApply(structs.VarApplyRequestType, req)
	var conflict *state.VarConflictError
	if errors.As(err, &conflict) {
		current, err := s.OpenVar(conflict.Current)
		return &structs.VarApplyReply{Conflict: current}, err
	}
	if err != nil {
		return nil, err
	}
	reply.Index = index
	switch args.Op {
	case structs.VarOpLockAcquire:
		s.locks.start(key, stored.Lock)
	case structs.VarOpLockRelease, structs.VarOpDelete, structs.VarOpDeleteCAS:
		s.locks.stop(key)
	}
	if args.Op == structs.VarOpLockRelease {
		// As in Nomad, a release answers with the variable, not its items.
		v, err := s.State().Snapshot().VarGet(stored.Namespace, stored.Path)
		if err != nil || v == nil {
			return nil, fmt.Errorf("read back variable %q: %v", stored.Path, err)
		}
		m := v.Metadata()
		reply.Output = &api.Variable{Namespace: m.Namespace, Path: m.Path, CreateIndex: m.CreateIndex,
			ModifyIndex: m.ModifyIndex, CreateTime: m.CreateTime, ModifyTime: m.ModifyTime}
	}
	if args.Op == structs.VarOpSet || args.Op == structs.VarOpCAS || args.Op == structs.VarOpLockAcquire {
		v, err := s.State().Snapshot().VarGet(stored.Namespace, stored.Path)
		if err != nil || v == nil {
			return nil, fmt.Errorf("read back variable %q: %v", stored.Path, err)
		}
		if reply.Output, err = s.OpenVar(v); err != nil {
			return nil, err
		}
	}
	return &reply, nil
}

// varConflict answers a request on a variable with its current state.
func (s *Server) varConflict(key varKey) (*structs.VarApplyReply, error) {
	v, err := s.State().Snapshot().VarGet(key.namespace, key.path)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = &structs.Var{Namespace: key.namespace, Path: key.path}
	}
	current, err := s.OpenVar(v)
	return &structs.VarApplyReply{Conflict: current}, err
}

// sealVar validates a variable for op and builds its stored form; only
// writes carry (sealed) items, and a lock acquisition may carry none (it
// keeps the stored ones). The request's lock ID goes along, for the check
// against the lock held.
func (s *Server) sealVar(op structs.VarOp, v *api.Variable) (*structs.Var, error) {
	ns := v.Namespace
	if ns == "" {
		ns = "default"
	}
	stored := &structs.Var{Namespace: ns, Path: v.Path}
	if v.Lock != nil && v.Lock.ID != "" {
		stored.Lock = &structs.VarLock{ID: v.Lock.ID}
	}
	switch op {
	case structs.VarOpDelete, structs.VarOpDeleteCAS, structs.VarOpLockRelease:
		if v.Path == "" {
			return nil, fmt.Errorf("%w: missing variable path", ErrInvalid)
		}
		if op == structs.VarOpLockRelease && stored.Lock == nil {
			return nil, fmt.Errorf("%w: missing lock ID", ErrInvalid)
		}
		return stored, nil
	case structs.VarOpLockAcquire:
		if err := structs.ValidateVarPath(v.Path); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if len(v.Items) == 0 {
			if _, err := lookupNamespace(s.State().Snapshot(), ns, fmt.Sprintf("variable %q", v.Path)); err != nil {
				return nil, err
			}
			return stored, nil
		}
	case structs.VarOpSet, structs.VarOpCAS:
	default:
		return nil, fmt.Errorf("%w: unknown variable operation %q", ErrInvalid, op)
	}
	if err := structs.ValidateVar(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := lookupNamespace(s.State().Snapshot(), ns, fmt.Sprintf("variable %q", v.Path)); err != nil {
		return nil, err
	}
	plain, err := json.Marshal(map[string]string(v.Items))
	if err != nil {
		return nil, fmt.Errorf("encode variable items: %w", err)
	}
	keyID, key, err := s.activeRootKey()
	if err != nil {
		return nil, fmt.Errorf("seal variable %q: %w", v.Path, err)
	}
	stored.KeyID = keyID
	if stored.Data, err = sealWith(key, plain, varAAD(ns, v.Path)); err != nil {
		return nil, fmt.Errorf("seal variable %q: %w", v.Path, err)
	}
	return stored, nil
}

// OpenVar decrypts a stored variable into the API's form. Its key is in
// the state store the variable came from: the key was committed through
// Raft before any variable sealed with it.
func (s *Server) OpenVar(v *structs.Var) (*api.Variable, error) {
	m := v.Metadata()
	out := &api.Variable{Namespace: m.Namespace, Path: m.Path, CreateIndex: m.CreateIndex,
		ModifyIndex: m.ModifyIndex, CreateTime: m.CreateTime, ModifyTime: m.ModifyTime, Lock: m.Lock}
	if len(v.Data) == 0 {
		return out, nil
	}
	key, err := s.rootKey(v.KeyID)
	if err != nil {
		return nil, fmt.Errorf("variable %q: %w", v.Path, err)
	}
	plain, err := openWith(key, v.Data, varAAD(v.Namespace, v.Path))
	if err != nil {
		return nil, fmt.Errorf("variable %q: key %s: %w", v.Path, v.KeyID, err)
	}
	if err := json.Unmarshal(plain, &out.Items); err != nil {
		return nil, fmt.Errorf("variable %q: decode items: %w", v.Path, err)
	}
	return out, nil
}

// varAAD binds sealed items to their namespace and path, so that sealed
// data moved to another variable does not decrypt.
func varAAD(namespace, path string) []byte {
	return []byte(namespace + "\x00" + path)
}

// varEndpoint serves "Var.*".
type varEndpoint struct{ s *Server }

// RenewLock restarts a variable lock's lease.
func (e *varEndpoint) RenewLock(args *structs.VarApplyArgs, reply *structs.VarApplyReply) error {
	if args.Var == nil {
		return fmt.Errorf("%w: missing variable", ErrInvalid)
	}
	ns := args.Var.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	allowed := func(a *acl.ACL) bool {
		return a.AllowVariableOperation(ns, args.Var.Path, acl.VariablesCapabilityWrite)
	}
	if err := e.s.authorize(args.AuthToken, allowed); err != nil {
		return err
	}
	r, err := e.s.RenewVarLock(args)
	if r != nil {
		*reply = *r
	}
	return err
}

// Apply writes or deletes a variable.
func (e *varEndpoint) Apply(args *structs.VarApplyArgs, reply *structs.VarApplyReply) error {
	if args.Var == nil {
		return fmt.Errorf("%w: missing variable", ErrInvalid)
	}
	ns, op := args.Var.Namespace, acl.VariablesCapabilityWrite
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	if args.Op == structs.VarOpDelete || args.Op == structs.VarOpDeleteCAS {
		op = acl.VariablesCapabilityDestroy
	}
	allowed := func(a *acl.ACL) bool { return a.AllowVariableOperation(ns, args.Var.Path, op) }
	if err := e.s.authorize(args.AuthToken, allowed); err != nil {
		return err
	}
	r, err := e.s.ApplyVar(args)
	if r != nil {
		*reply = *r
	}
	return err
}

// Read answers a client's blocking read of one variable, for a task's
// template.
func (e *varEndpoint) Read(args *structs.VarReadArgs, reply *structs.VarReadReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	r, err := e.s.ReadVar(e.s.shutdownCtx, args)
	if r != nil {
		*reply = *r
	}
	return err
}

// List answers a client's blocking list of variables, for a task's
// template.
func (e *varEndpoint) List(args *structs.VarListArgs, reply *structs.VarListReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.AuthNodeID, false); err != nil {
		return err
	}
	r, err := e.s.ListVars(e.s.shutdownCtx, args)
	if r != nil {
		*reply = *r
	}
	return err
}

// ReadVar reads one variable, with its items, once its index passes
// args.MinIndex; the token must grant read on the path. A variable that
// does not exist is no error: the reply's Var is nil. Reads are served from
// this server's state (stale reads), as template lookups are in Nomad by
// default.
func (s *Server) ReadVar(ctx context.Context, args *structs.VarReadArgs) (*structs.VarReadReply, error) {
	ns := orDefaultNamespace(args.Namespace)
	allowed := func(a *acl.ACL) bool {
		return a.AllowVariableOperation(ns, args.Path, acl.VariablesCapabilityRead)
	}
	if err := s.authorize(args.AuthToken, allowed); err != nil {
		return nil, err
	}
	var found *structs.Var
	index, err := s.State().BlockingQuery(ctx, args.MinIndex, args.Wait, func(snap *state.Snapshot) (uint64, error) {
		v, err := snap.VarGet(ns, args.Path)
		found = v
		if v != nil {
			return v.ModifyIndex, err
		}
		return max(snap.VarsIndex(), 1), err
	})
	if err != nil {
		return nil, err
	}
	reply := &structs.VarReadReply{Index: index}
	if found != nil {
		if reply.Var, err = s.OpenVar(found); err != nil {
			return nil, err
		}
	}
	return reply, nil
}

// ListVars lists the metadata of the variables under args.Prefix that the
// token may list, once their index passes args.MinIndex.
func (s *Server) ListVars(ctx context.Context, args *structs.VarListArgs) (*structs.VarListReply, error) {
	ns := orDefaultNamespace(args.Namespace)
	a, _, err := s.ResolveToken(args.AuthToken)
	if err != nil {
		return nil, err
	}
	reply := &structs.VarListReply{}
	reply.Index, err = s.State().BlockingQuery(ctx, args.MinIndex, args.Wait, func(snap *state.Snapshot) (uint64, error) {
		vars, err := snap.VarsByPrefix(ns, args.Prefix)
		reply.Vars = reply.Vars[:0]
		for _, v := range vars {
			if a.AllowVariableOperation(v.Namespace, v.Path, acl.VariablesCapabilityList) {
				reply.Vars = append(reply.Vars, v.Metadata())
			}
		}
		return max(snap.VarsIndex(), 1), err
	})
	if err != nil {
		return nil, err
	}
	return reply, nil
}

// orDefaultNamespace is ns, or "default" when ns is empty.
func orDefaultNamespace(ns string) string {
	if ns == "" {
		return structs.DefaultNamespace
	}
	return ns
}
