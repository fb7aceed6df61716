package server

import (
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// Lock TTL bounds and defaults, as Nomad's.
const (
	defaultLockTTL   = 15 * time.Second
	defaultLockDelay = 15 * time.Second
	minLockTTL       = 10 * time.Millisecond
	maxLockTTL       = 24 * time.Hour
)

// varKey names a variable.
type varKey struct{ namespace, path string }

// varLocks runs, on the leader, the TTL of every held variable lock: a
// lock not renewed within its TTL is released through Raft, and its
// variable cannot be locked again until the lock delay has passed. The
// timers live only on the leader; a new leader starts every held lock's
// TTL afresh.
type varLocks struct {
	s       *Server
	mu      sync.Mutex
	enabled bool
	timers  map[varKey]*time.Timer
	delays  map[varKey]time.Time
}

func newVarLocks(s *Server) *varLocks {
	return &varLocks{s: s, timers: map[varKey]*time.Timer{}, delays: map[varKey]time.Time{}}
}

// newVarLock checks a requested lock and gives it an ID and defaults.
func newVarLock(req *api.VariableLock) (*api.VariableLock, error) {
	lock := &api.VariableLock{TTL: defaultLockTTL.String(), LockDelay: defaultLockDelay.String()}
	if req != nil {
		if req.TTL != "" {
			lock.TTL = req.TTL
		}
		if req.LockDelay != "" {
			lock.LockDelay = req.LockDelay
		}
	}
	ttl, err := time.ParseDuration(lock.TTL)
	if err != nil || ttl < minLockTTL || ttl > maxLockTTL {
		return nil, fmt.Errorf("lock TTL %q: want a duration from %v to %v", lock.TTL, minLockTTL, maxLockTTL)
	}
	if d, err := time.ParseDuration(lock.LockDelay); err != nil || d < 0 {
		return nil, fmt.Errorf("lock delay %q: want a duration", lock.LockDelay)
	}
	if lock.ID, err = uuid.GenerateUUID(); err != nil {
		return nil, err
	}
	return lock, nil
}

// enable starts the TTL of every lock held in the state: leadership
// begins.
func (l *varLocks) enable() {
	l.mu.Lock()
	l.enabled = true
	l.mu.Unlock()
	vars, err := l.s.State().Snapshot().VarsByPrefix("*", "")
	if err != nil {
		l.s.logger.Error("restore variable locks", "error", err)
		return
	}
	for _, v := range vars {
		if v.Lock != nil {
			l.start(v)
		}
	}
}

// disable stops every timer: leadership ends.
func (l *varLocks) disable() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enabled = false
	for k, t := range l.timers {
		t.Stop()
		delete(l.timers, k)
	}
}

// start arms the TTL of v's lock.
func (l *varLocks) start(v *structs.Var) {
	ttl, err := time.ParseDuration(v.Lock.TTL)
	if err != nil {
		ttl = defaultLockTTL
	}
	key, id := varKey{v.Namespace, v.Path}, v.Lock.ID
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.enabled {
		return
	}
	if t := l.timers[key]; t != nil {
		t.Stop()
	}
	l.timers[key] = time.AfterFunc(ttl, func() { l.expire(key, id, v.Lock.LockDelay) })
}

// stop forgets a lock that was released or whose variable was deleted.
func (l *varLocks) stop(key varKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.timers[key]; t != nil {
		t.Stop()
		delete(l.timers, key)
	}
}

// delayed reports whether key's lock expired less than its delay ago.
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

// expire releases a lock whose TTL ran out and starts its delay.
func (l *varLocks) expire(key varKey, id, delay string) {
	d, err := time.ParseDuration(delay)
	if err != nil {
		d = defaultLockDelay
	}
	l.mu.Lock()
	delete(l.timers, key)
	l.delays[key] = time.Now().Add(d)
	l.mu.Unlock()
	req := &structs.VarApplyRequest{Op: structs.VarOpLockRelease, Time: time.Now().UnixNano(),
		Var: &structs.Var{Namespace: key.namespace, Path: key.path, Lock: &api.VariableLock{ID: id}}}
	if _, err := l.s.raftApply(structs.VarApplyRequestType, req); err != nil {
		l.s.logger.Warn("release expired variable lock", "path", key.path, "namespace", key.namespace, "error", err)
		return
	}
	l.s.logger.Info("variable lock expired", "path", key.path, "namespace", key.namespace)
}

// renewVarLock extends a held lock's TTL; another ID, or no lock, is a
// conflict.
func (s *Server) renewVarLock(v *api.Variable) (*structs.VarApplyReply, error) {
	ns := orDefaultNamespace(v.Namespace)
	stored, err := s.State().Snapshot().VarGet(ns, v.Path)
	if err != nil {
		return nil, err
	}
	if stored == nil || stored.Lock == nil || v.Lock == nil || stored.Lock.ID != v.Lock.ID {
		return s.varConflict(&structs.Var{Namespace: ns, Path: v.Path})
	}
	s.varLocks.start(stored)
	m := stored.Metadata()
	return &structs.VarApplyReply{Output: &api.Variable{Namespace: m.Namespace, Path: m.Path, CreateIndex: m.CreateIndex,
		ModifyIndex: m.ModifyIndex, CreateTime: m.CreateTime, ModifyTime: m.ModifyTime, Lock: m.Lock}}, nil
}
