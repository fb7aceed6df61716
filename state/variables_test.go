package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func testVar(path, data string) *structs.Var {
	return &structs.Var{Namespace: "default", Path: path, KeyID: "k1", Data: []byte(data)}
}

// varStep is one write in a variable test: an operation, its check index
// and, when it must fail, the modify index the conflict reports.
type varStep struct {
	op           structs.VarOp
	check        uint64
	wantConflict bool
	conflictAt   uint64
}

func TestVarApplyCheckAndSet(t *testing.T) {
	cases := []struct {
		name string
		// Steps run at indexes 10, 11, 12, ...
		steps      []varStep
		wantExists bool
		wantCreate uint64
		wantModify uint64
	}{
		{"set creates", []varStep{{op: structs.VarOpSet}}, true, 10, 10},
		{"set overwrites and keeps create index", []varStep{{op: structs.VarOpSet}, {op: structs.VarOpSet}}, true, 10, 11},
		{"cas 0 creates a missing variable", []varStep{{op: structs.VarOpCAS}}, true, 10, 10},
		{"cas 0 conflicts with an existing variable",
			[]varStep{{op: structs.VarOpSet}, {op: structs.VarOpCAS, wantConflict: true, conflictAt: 10}}, true, 10, 10},
		{"cas with the modify index updates",
			[]varStep{{op: structs.VarOpSet}, {op: structs.VarOpCAS, check: 10}}, true, 10, 11},
		{"cas with a stale index conflicts",
			[]varStep{{op: structs.VarOpSet}, {op: structs.VarOpSet}, {op: structs.VarOpCAS, check: 10, wantConflict: true, conflictAt: 11}}, true, 10, 11},
		{"cas on a missing variable with an index conflicts",
			[]varStep{{op: structs.VarOpCAS, check: 5, wantConflict: true, conflictAt: 0}}, false, 0, 0},
		{"delete removes", []varStep{{op: structs.VarOpSet}, {op: structs.VarOpDelete}}, false, 0, 0},
		{"delete of a missing variable is no error", []varStep{{op: structs.VarOpDelete}}, false, 0, 0},
		{"delete-cas with the modify index removes",
			[]varStep{{op: structs.VarOpSet}, {op: structs.VarOpDeleteCAS, check: 10}}, false, 0, 0},
		{"delete-cas with a stale index conflicts",
			[]varStep{{op: structs.VarOpSet}, {op: structs.VarOpDeleteCAS, check: 9, wantConflict: true, conflictAt: 10}}, true, 10, 10},
		{"delete-cas 0 on a missing variable is a no-op", []varStep{{op: structs.VarOpDeleteCAS}}, false, 0, 0},
		{"delete-cas with an index on a missing variable conflicts",
			[]varStep{{op: structs.VarOpDeleteCAS, check: 3, wantConflict: true}}, false, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			for i, st := range tc.steps {
				index := uint64(10 + i)
				req := &structs.VarApplyRequest{Op: st.op, Var: testVar("app/db", "sealed"), CheckIndex: st.check, Time: int64(index) * 1000}
				err := s.VarApply(index, req)
				var conflict *VarConflictError
				switch {
				case st.wantConflict && !errors.As(err, &conflict):
					t.Fatalf("step %d: want a conflict, got %v", i, err)
				case st.wantConflict && conflict.Current.ModifyIndex != st.conflictAt:
					t.Fatalf("step %d: conflict reports modify index %d, want %d", i, conflict.Current.ModifyIndex, st.conflictAt)
				case st.wantConflict && conflict.Current.Path != "app/db":
					t.Fatalf("step %d: conflict names path %q", i, conflict.Current.Path)
				case !st.wantConflict && err != nil:
					t.Fatalf("step %d: %v", i, err)
				}
			}
			got, err := s.Snapshot().VarGet("default", "app/db")
			if err != nil {
				t.Fatal(err)
			}
			if (got != nil) != tc.wantExists {
				t.Fatalf("exists = %v, want %v", got != nil, tc.wantExists)
			}
			if got == nil {
				return
			}
			if got.CreateIndex != tc.wantCreate || got.ModifyIndex != tc.wantModify {
				t.Fatalf("create/modify index = %d/%d, want %d/%d", got.CreateIndex, got.ModifyIndex, tc.wantCreate, tc.wantModify)
			}
			if got.CreateTime != int64(tc.wantCreate)*1000 || got.ModifyTime != int64(tc.wantModify)*1000 {
				t.Fatalf("create/modify time = %d/%d", got.CreateTime, got.ModifyTime)
			}
		})
	}
}

func TestVarsByPrefix(t *testing.T) {
	s := mustStore(t)
	if err := s.UpsertNamespaces(1, &structs.NamespaceUpsertRequest{Namespaces: []*api.Namespace{{Name: "prod"}}}); err != nil {
		t.Fatal(err)
	}
	writes := []*structs.Var{
		testVar("app/db", "a"), testVar("app/web", "b"), testVar("other", "c"),
		{Namespace: "prod", Path: "app/db", Data: []byte("d")},
	}
	for i, v := range writes {
		if err := s.VarApply(uint64(i+2), &structs.VarApplyRequest{Op: structs.VarOpSet, Var: v}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, namespace, prefix string
		want                    []string
	}{
		{"whole namespace", "default", "", []string{"default/app/db", "default/app/web", "default/other"}},
		{"prefix", "default", "app/", []string{"default/app/db", "default/app/web"}},
		{"other namespace", "prod", "", []string{"prod/app/db"}},
		{"every namespace with a prefix", "*", "app/d", []string{"default/app/db", "prod/app/db"}},
		{"no match", "default", "zzz", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars, err := s.Snapshot().VarsByPrefix(tc.namespace, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vars {
				got = append(got, v.Namespace+"/"+v.Path)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestVarsSurviveSnapshotRestore(t *testing.T) {
	s := mustStore(t)
	if err := s.VarApply(7, &structs.VarApplyRequest{Op: structs.VarOpSet, Var: testVar("app/db", "sealed-bytes"), Time: 99}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	snap := restored.Snapshot()
	got, err := snap.VarGet("default", "app/db")
	if err != nil || got == nil {
		t.Fatalf("variable after restore: %v, %v", got, err)
	}
	if string(got.Data) != "sealed-bytes" || got.KeyID != "k1" || got.ModifyIndex != 7 || got.CreateTime != 99 {
		t.Fatalf("restored variable = %+v", got)
	}
	if snap.VarsIndex() != 7 {
		t.Fatalf("variables index after restore = %d, want 7", snap.VarsIndex())
	}
}

// TestVarLocks: a held lock refuses a second acquisition and any change
// without its ID, keeps the items on writes that carry the ID, and goes
// away on a release by its holder only.
func TestVarLocks(t *testing.T) {
	held := &structs.VarLock{ID: "lock-1", TTL: 15e9, LockDelay: 15e9}
	withLock := func(id string, data string) *structs.Var {
		v := testVar("app/leader", data)
		if id != "" {
			v.Lock = &structs.VarLock{ID: id}
		}
		return v
	}
	acquire := func() *structs.Var { v := withLock("", ""); v.Data = nil; v.Lock = held; return v }
	type step struct {
		op           structs.VarOp
		v            *structs.Var
		wantConflict bool
	}
	cases := []struct {
		name     string
		steps    []step
		wantLock string
		wantData string
	}{
		{"acquire creates the variable, locked", []step{{op: structs.VarOpLockAcquire, v: acquire()}}, "lock-1", ""},
		{"acquire keeps the stored items", []step{{op: structs.VarOpSet, v: withLock("", "items")}, {op: structs.VarOpLockAcquire, v: acquire()}}, "lock-1", "items"},
		{"a second acquisition conflicts", []step{{op: structs.VarOpLockAcquire, v: acquire()}, {op: structs.VarOpLockAcquire, v: acquire(), wantConflict: true}}, "lock-1", ""},
		{"a write without the lock ID conflicts", []step{{op: structs.VarOpLockAcquire, v: acquire()}, {op: structs.VarOpSet, v: withLock("", "new"), wantConflict: true}}, "lock-1", ""},
		{"a delete with another ID conflicts", []step{{op: structs.VarOpLockAcquire, v: acquire()}, {op: structs.VarOpDelete, v: withLock("lock-2", ""), wantConflict: true}}, "lock-1", ""},
		{"a write with the lock ID keeps the lock", []step{{op: structs.VarOpLockAcquire, v: acquire()}, {op: structs.VarOpSet, v: withLock("lock-1", "new")}}, "lock-1", "new"},
		{"a release by another ID conflicts", []step{{op: structs.VarOpLockAcquire, v: acquire()}, {op: structs.VarOpLockRelease, v: withLock("lock-2", ""), wantConflict: true}}, "lock-1", ""},
		{"a release of a lock not held conflicts", []step{{op: structs.VarOpSet, v: withLock("", "items")}, {op: structs.VarOpLockRelease, v: withLock("lock-1", ""), wantConflict: true}}, "", "items"},
		{"the holder's release unlocks and keeps the items", []step{{op: structs.VarOpSet, v: withLock("", "items")}, {op: structs.VarOpLockAcquire, v: acquire()}, {op: structs.VarOpLockRelease, v: withLock("lock-1", "")}}, "", "items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			for i, st := range tc.steps {
				err := s.VarApply(uint64(10+i), &structs.VarApplyRequest{Op: st.op, Var: st.v, Time: 1})
				var conflict *VarConflictError
				if st.wantConflict != errors.As(err, &conflict) || (!st.wantConflict && err != nil) {
					t.Fatalf("step %d (%s): err = %v, want conflict %v", i, st.op, err, st.wantConflict)
				}
			}
			got, err := s.Snapshot().VarGet("default", "app/leader")
			if err != nil || got == nil {
				t.Fatalf("variable: %v, %v", got, err)
			}
			lock := ""
			if got.Lock != nil {
				lock = got.Lock.ID
			}
			if lock != tc.wantLock || string(got.Data) != tc.wantData {
				t.Fatalf("lock %q, data %q; want %q, %q", lock, got.Data, tc.wantLock, tc.wantData)
			}
		})
	}
}
