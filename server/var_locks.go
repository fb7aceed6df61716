package server

import (
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// Variable lock bounds and defaults, as Nomad's.
const (
	defaultLockTTL   = 15 * time.Second
	defaultLockDelay = 15 * time.Second
	minLockTTL       = 10 * time.Second
	maxLockTTL       = 24 * time.Hour
)

// varLocks times the leases of variable locks on the leader, as Nomad
// does: a renewal only restarts the lease's timer (no Raft write); a
// lease that runs out releases the lock through Raft, and no one may take
// that lock again for its lock delay. A new leader starts a full lease for
// every lock held.
type varLocks struct {
	mu     sync.Mutex
	timers map[varKey]*time.Timer
	delays map[varKey]time.Time
	// expire releases a lapsed lock.
	expire func(key varKey, lockID string)
}

// varKey names a variable.
type varKey struct{ namespace, path string }

func newVarLocks(expire func(varKey, string)) *varLocks {
	return &varLocks{timers: map[varKey]*time.Timer{}, delays: map[varKey]time.Time{}, expire: expire}
}

// start begins (or restarts) a lock's lease.
func (l *varLocks) start(key varKey, lock *structs.VarLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.timers[key]; t != nil {
		t.Stop()
	}
	id, delay := lock.ID, lock.LockDelay
	l.timers[key] = time.AfterFunc(lock.TTL, func() {
		l.mu.Lock()
		delete(l.timers, key)
		l.delays[key] = time.Now().Add(delay)
		l.mu.Unlock()
		l.expire(key, id)
	})
}

// renew restarts a running lease; false when none runs (not held, or
// it lapsed meanwhile).
func (l *varLocks) renew(key varKey, ttl time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.timers[key]
	if t == nil || !t.Stop() {
		return false
	}
	t.Reset(ttl)
	return true
}

// stop ends a lease (a release).
func (l *varLocks) stop(key varKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.timers[key]; t != nil {
		t.Stop()
		delete(l.timers, key)
	}
}

// delayed reports whether a lapsed lock's delay still runs.
func (l *varLocks) delayed(key varKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.delays[key]
	if ok && time.Now().After(until) {
		delete(l.delays, key)
		return false
	}
	return ok
}

// stopAll ends every lease (leadership lost).
func (l *varLocks) stopAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, t := range l.timers {
		t.Stop()
		delete(l.timers, k)
	}
	l.delays = map[varKey]time.Time{}
}

// newLock is the lock an acquisition asks for, with a new ID and the
// defaults filled in.
func newLock(req *api.VariableLock) (*structs.VarLock, error) {
	lock := &structs.VarLock{TTL: defaultLockTTL, LockDelay: defaultLockDelay}
	lock.ID, _ = uuid.GenerateUUID()
	if req == nil {
		return lock, nil
	}
	for _, f := range []struct {
		name, raw string
		dst       *time.Duration
	}{{"TTL", req.TTL, &lock.TTL}, {"LockDelay", req.LockDelay, &lock.LockDelay}} {
		if f.raw == "" {
			continue
		}
		d, err := time.ParseDuration(f.raw)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%w: lock %s %q is not a duration", ErrInvalid, f.name, f.raw)
		}
		*f.dst = d
	}
	if lock.TTL < minLockTTL || lock.TTL > maxLockTTL {
		return nil, fmt.Errorf("%w: lock TTL must be between %s and %s", ErrInvalid, minLockTTL, maxLockTTL)
	}
	return lock, nil
}

// restoreVarLocks starts a full lease for every lock held, on a new leader.
func (s *Server) restoreVarLocks() {
	vars, err := s.State().Snapshot().VarsByPrefix("*", "")
	if err != nil {
		s.logger.Error("restore variable locks", "error", err)
		return
	}
	for _, v := range vars {
		if v.Lock != nil {
			s.locks.start(varKey{v.Namespace, v.Path}, v.Lock)
		}
	}
}

// expireVarLock releases a lock whose lease ran out.
func (s *Server) expireVarLock(key varKey, lockID string) {
	req := &structs.VarApplyRequest{Op: structs.VarOpLockRelease, Time: time.Now().UnixNano(),
		Var: &structs.Var{Namespace: key.namespace, Path: key.path, Lock: &structs.VarLock{ID: lockID}}}
	if _, err := s.raftApply(structs.VarApplyRequestType, req); err != nil {
		s.logger.Warn("release lapsed variable lock", "path", key.path, "namespace", key.namespace, "error", err)
	}
}

// RenewVarLock restarts the lease of a variable's lock; the lock ID must
// be the holder's, else the reply's Conflict is the current variable.
func (s *Server) RenewVarLock(args *structs.VarApplyArgs) (*structs.VarApplyReply, error) {
	var reply structs.VarApplyReply
	if done, err := s.forward("Var.RenewLock", args, &reply); done {
		return &reply, err
	}
	if args.Var == nil || args.Var.Lock == nil || args.Var.Lock.ID == "" {
		return nil, fmt.Errorf("%w: missing lock ID", ErrInvalid)
	}
	ns := args.Var.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	snap := s.State().Snapshot()
	v, err := snap.VarGet(ns, args.Var.Path)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("variable %q: %w", args.Var.Path, ErrNotFound)
	}
	if v.Lock == nil || v.Lock.ID != args.Var.Lock.ID || !s.locks.renew(varKey{ns, v.Path}, v.Lock.TTL) {
		current, err := s.OpenVar(v)
		return &structs.VarApplyReply{Conflict: current, Index: snap.VarsIndex()}, err
	}
	return &structs.VarApplyReply{Output: &api.Variable{Namespace: ns, Path: v.Path, CreateIndex: v.CreateIndex,
		ModifyIndex: v.ModifyIndex, CreateTime: v.CreateTime, ModifyTime: v.ModifyTime, Lock: v.Lock.APILock()},
		Index: snap.VarsIndex()}, nil
}
