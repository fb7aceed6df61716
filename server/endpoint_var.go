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
	if args.Op == structs.VarOpSet || args.Op == structs.VarOpCAS {
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

// sealVar validates a variable for op and builds its stored form; only
// writes carry (sealed) items.
func (s *Server) sealVar(op structs.VarOp, v *api.Variable) (*structs.Var, error) {
	ns := v.Namespace
	if ns == "" {
		ns = "default"
	}
	stored := &structs.Var{Namespace: ns, Path: v.Path}
	switch op {
	case structs.VarOpDelete, structs.VarOpDeleteCAS:
		if v.Path == "" {
			return nil, fmt.Errorf("%w: missing variable path", ErrInvalid)
		}
		return stored, nil
	case structs.VarOpSet, structs.VarOpCAS:
	default:
		return nil, fmt.Errorf("%w: unknown variable operation %q", ErrInvalid, op)
	}
	if err := structs.ValidateVar(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	plain, err := json.Marshal(map[string]string(v.Items))
	if err != nil {
		return nil, fmt.Errorf("encode variable items: %w", err)
	}
	stored.KeyID, stored.Data, err = s.keys.seal(plain, varAAD(ns, v.Path))
	if err != nil {
		return nil, fmt.Errorf("seal variable %q: %w", v.Path, err)
	}
	return stored, nil
}

// OpenVar decrypts a stored variable into the API's form. A key this
// server lacks is fetched from the other servers first.
func (s *Server) OpenVar(v *structs.Var) (*api.Variable, error) {
	m := v.Metadata()
	out := &api.Variable{Namespace: m.Namespace, Path: m.Path, CreateIndex: m.CreateIndex,
		ModifyIndex: m.ModifyIndex, CreateTime: m.CreateTime, ModifyTime: m.ModifyTime}
	if len(v.Data) == 0 {
		return out, nil
	}
	aad := varAAD(v.Namespace, v.Path)
	plain, err := s.keys.open(v.KeyID, v.Data, aad)
	if errors.Is(err, errUnknownKey) {
		if ferr := s.fetchKey(v.KeyID); ferr != nil {
			return nil, fmt.Errorf("variable %q: %w", v.Path, ferr)
		}
		plain, err = s.keys.open(v.KeyID, v.Data, aad)
	}
	if err != nil {
		return nil, fmt.Errorf("variable %q: %w", v.Path, err)
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

// fetchKey asks the other servers for a keyring key, for variables sealed
// by a server that led before this one.
func (s *Server) fetchKey(id string) error {
	peers, err := s.Peers()
	if err != nil || s.pool == nil || s.mux == nil {
		return fmt.Errorf("key %s: %w (no peers to fetch it from)", id, errUnknownKey)
	}
	self := s.mux.RaftLayer().Addr().String()
	for _, peer := range peers {
		if peer == self || peer == s.config.RPCAdvertise {
			continue
		}
		ctx, cancel := context.WithTimeout(s.shutdownCtx, 10*time.Second)
		var reply structs.KeyringGetReply
		err := s.pool.Call(ctx, peer, "Keyring.Get", &structs.KeyringGetArgs{KeyID: id}, &reply)
		cancel()
		if err != nil {
			s.logger.Debug("fetch keyring key", "peer", peer, "key", id, "error", err)
			continue
		}
		return s.keys.add(id, reply.Key)
	}
	return fmt.Errorf("key %s: %w on any server", id, errUnknownKey)
}

// keyringEndpoint serves "Keyring.*": servers fetch keys from each other.
type keyringEndpoint struct{ s *Server }

// Get returns a key this server holds.
func (e *keyringEndpoint) Get(args *structs.KeyringGetArgs, reply *structs.KeyringGetReply) error {
	key, ok := e.s.keys.get(args.KeyID)
	if !ok {
		return fmt.Errorf("key %s: %w", args.KeyID, errUnknownKey)
	}
	reply.Key = key
	return nil
}

// varEndpoint serves "Var.*".
type varEndpoint struct{ s *Server }

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
