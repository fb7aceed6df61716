package server

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func TestVarLocks(t *testing.T) {
	s := testServer(t, time.Minute)
	apply := func(op structs.VarOp, lock *api.VariableLock, items map[string]string) *structs.VarApplyReply {
		t.Helper()
		r, err := s.ApplyVar(&structs.VarApplyArgs{Op: op, Var: &api.Variable{Path: "app/leader", Items: items, Lock: lock}})
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return r
	}
	got := apply(structs.VarOpLockAcquire, &api.VariableLock{TTL: "1m", LockDelay: "1s"}, map[string]string{"holder": "a"})
	if got.Conflict != nil || got.Output == nil || got.Output.Lock == nil || got.Output.Lock.ID == "" || got.Output.Items["holder"] != "a" {
		t.Fatalf("acquire = %+v", got)
	}
	id := got.Output.Lock.ID
	mine, other := &api.VariableLock{ID: id}, &api.VariableLock{ID: "not-the-holder"}
	steps := []struct {
		name     string
		op       structs.VarOp
		lock     *api.VariableLock
		items    map[string]string
		conflict bool
	}{
		{"a second acquisition conflicts", structs.VarOpLockAcquire, &api.VariableLock{TTL: "1m"}, nil, true},
		{"a write without the lock conflicts", structs.VarOpSet, nil, map[string]string{"holder": "b"}, true},
		{"a write with another ID conflicts", structs.VarOpSet, other, map[string]string{"holder": "b"}, true},
		{"a delete without the lock conflicts", structs.VarOpDelete, nil, nil, true},
		{"the holder writes", structs.VarOpSet, mine, map[string]string{"holder": "a2"}, false},
		{"the holder renews", structs.VarOpLockRenew, mine, nil, false},
		{"another renewal conflicts", structs.VarOpLockRenew, other, nil, true},
		{"another release conflicts", structs.VarOpLockRelease, other, nil, true},
		{"the holder releases", structs.VarOpLockRelease, mine, nil, false},
		{"a released lock cannot be renewed", structs.VarOpLockRenew, mine, nil, true},
		{"an unlocked variable takes writes", structs.VarOpSet, nil, map[string]string{"holder": "c"}, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := apply(st.op, st.lock, st.items)
			if (r.Conflict != nil) != st.conflict {
				t.Fatalf("conflict = %+v, want %v", r.Conflict, st.conflict)
			}
			if st.name == "the holder writes" && (r.Output.Lock == nil || r.Output.Lock.ID != id || r.Output.Items["holder"] != "a2") {
				t.Fatalf("a write under the lock: %+v", r.Output)
			}
		})
	}

	t.Run("an unrenewed lock expires, then waits out its delay", func(t *testing.T) {
		r := apply(structs.VarOpLockAcquire, &api.VariableLock{TTL: "50ms", LockDelay: "300ms"}, nil)
		if r.Conflict != nil || r.Output.Items["holder"] != "c" {
			t.Fatalf("acquire without items = %+v", r)
		}
		waitFor(t, "the lock to expire", func() bool {
			v, _ := s.State().Snapshot().VarGet("default", "app/leader")
			return v != nil && v.Lock == nil
		})
		if r := apply(structs.VarOpLockAcquire, &api.VariableLock{TTL: "1m"}, nil); r.Conflict == nil {
			t.Fatal("the lock was handed out again within its delay")
		}
		waitFor(t, "the delay to pass", func() bool {
			return apply(structs.VarOpLockAcquire, &api.VariableLock{TTL: "1m"}, nil).Conflict == nil
		})
	})
	t.Run("bad lock settings", func(t *testing.T) {
		if _, err := s.ApplyVar(&structs.VarApplyArgs{Op: structs.VarOpLockAcquire, Var: &api.Variable{Path: "app/x", Lock: &api.VariableLock{TTL: "soon"}}}); err == nil {
			t.Fatal("a TTL that is no duration was accepted")
		}
	})
}
