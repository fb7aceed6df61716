package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// KeyringMeta lists the root keys as /v1/operator/keyring/keys shows
// them, oldest first: the newest is active, the others inactive (they
// still open variables and verify identities sealed and signed with them).
func KeyringMeta(snap *state.Snapshot) ([]*api.RootKeyMeta, uint64, error) {
	keys, err := snap.RootKeys()
	if err != nil {
		return nil, 0, err
	}
	out := make([]*api.RootKeyMeta, 0, len(keys))
	for i, rk := range keys {
		out = append(out, RootKeyMeta(rk, i == len(keys)-1))
	}
	return out, snap.RootKeysIndex(), nil
}

// RootKeyMeta is a root key's metadata, never its material.
func RootKeyMeta(rk *structs.RootKey, active bool) *api.RootKeyMeta {
	st := api.RootKeyStateInactive
	if active {
		st = api.RootKeyStateActive
	}
	return &api.RootKeyMeta{KeyID: rk.KeyID, Algorithm: api.EncryptionAlgorithm(rk.Algorithm),
		CreateTime: rk.CreateTime, CreateIndex: rk.CreateIndex, ModifyIndex: rk.CreateIndex, State: st}
}

// RotateRootKey makes a new active root key on the leader. With Full,
// every variable sealed with an older key is sealed again with it.
func (s *Server) RotateRootKey(args *structs.KeyringRotateArgs) (*structs.KeyringReply, error) {
	var reply structs.KeyringReply
	if done, err := s.forward("Keyring.Rotate", args, &reply); done {
		return &reply, err
	}
	s.keyGenMu.Lock()
	rk, err := s.newRootKey()
	s.keyGenMu.Unlock()
	if err != nil {
		return nil, err
	}
	if args.Full {
		if err := s.rekeyVars(rk.KeyID); err != nil {
			return nil, fmt.Errorf("re-encrypt variables with key %s: %w", rk.KeyID, err)
		}
	}
	stored, err := s.State().Snapshot().RootKey(rk.KeyID)
	if err != nil || stored == nil {
		return nil, fmt.Errorf("read back key %s: %v", rk.KeyID, err)
	}
	return &structs.KeyringReply{Key: RootKeyMeta(stored, true), Index: stored.CreateIndex}, nil
}

// rekeyVars seals every variable not under keyID again (with the active
// key, keyID), each as a check-and-set so that a concurrent write wins.
func (s *Server) rekeyVars(keyID string) error {
	vars, err := s.State().Snapshot().VarsByPrefix(structs.AllNamespaces, "")
	if err != nil {
		return err
	}
	for _, v := range vars {
		if v.KeyID == keyID {
			continue
		}
		open, err := s.OpenVar(v)
		if err != nil {
			return err
		}
		stored, err := s.sealVar(structs.VarOpCAS, open)
		if err != nil {
			return err
		}
		req := &structs.VarApplyRequest{Op: structs.VarOpCAS, Var: stored, CheckIndex: v.ModifyIndex, Time: time.Now().UnixNano()}
		if _, err := s.raftApply(structs.VarApplyRequestType, req); err != nil && !errors.As(err, new(*state.VarConflictError)) {
			return err
		}
	}
	return nil
}

// DeleteRootKey removes an inactive root key on the leader. The active
// key is never removed; one that variables are still sealed with, or that
// signed the identities of running tasks, only with Force (those
// variables can then no longer be read, those identities no longer used).
func (s *Server) DeleteRootKey(args *structs.KeyringDeleteArgs) (uint64, error) {
	var reply structs.KeyringReply
	if done, err := s.forward("Keyring.Delete", args, &reply); done {
		return reply.Index, err
	}
	snap := s.State().Snapshot()
	keys, err := snap.RootKeys()
	if err != nil {
		return 0, err
	}
	pos := -1
	for i, rk := range keys {
		if rk.KeyID == args.KeyID {
			pos = i
		}
	}
	switch {
	case pos < 0:
		return 0, fmt.Errorf("root key %s: %w", args.KeyID, ErrNotFound)
	case pos == len(keys)-1:
		return 0, fmt.Errorf("%w: active root key %s cannot be deleted; rotate the keyring first", ErrInvalid, args.KeyID)
	}
	if !args.Force {
		vars, err := snap.VarsByPrefix(structs.AllNamespaces, "")
		if err != nil {
			return 0, err
		}
		for _, v := range vars {
			if v.KeyID == args.KeyID {
				return 0, fmt.Errorf("%w: root key %s is in use by variable %q; rotate with -full or delete with force", ErrInvalid, args.KeyID, v.Path)
			}
		}
		if len(keys[pos].WrappedSigningKey) > 0 {
			if id, err := identitySignedWith(snap, keys[pos].CreateTime, keys[pos+1].CreateTime); err != nil || id != "" {
				if err != nil {
					return 0, err
				}
				return 0, fmt.Errorf("%w: root key %s signed the workload identities of running allocation %s; delete with force", ErrInvalid, args.KeyID, id)
			}
		}
	}
	return s.raftApply(structs.RootKeyDeleteRequestType, &structs.RootKeyDeleteRequest{KeyID: args.KeyID})
}

// keyringEndpoint serves "Keyring.*": management tokens only, as Nomad's
// keyring API.
type keyringEndpoint struct{ s *Server }

// Rotate makes a new active root key.
func (e *keyringEndpoint) Rotate(args *structs.KeyringRotateArgs, reply *structs.KeyringReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	r, err := e.s.RotateRootKey(args)
	if r != nil {
		*reply = *r
	}
	return err
}

// Delete removes an inactive root key.
func (e *keyringEndpoint) Delete(args *structs.KeyringDeleteArgs, reply *structs.KeyringReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	index, err := e.s.DeleteRootKey(args)
	reply.Index = index
	return err
}

// identitySignedWith names a running allocation one of whose tasks last
// started while the key active from `from` to `until` (Unix ns) signed
// identities, "" for none. Identities are not stored, so this is judged
// by start times, with some slack for clocks.
func identitySignedWith(snap *state.Snapshot, from, until int64) (string, error) {
	allocs, err := snap.Allocs("")
	if err != nil {
		return "", err
	}
	const slack = int64(10 * time.Second)
	for _, a := range allocs {
		if structs.AllocTerminal(a) {
			continue
		}
		for _, ts := range a.TaskStates {
			started := ts.StartedAt
			if ts.LastRestart.After(started) {
				started = ts.LastRestart
			}
			if t := started.UnixNano(); !started.IsZero() && t >= from-slack && t < until+slack {
				return a.ID, nil
			}
		}
	}
	return "", nil
}
