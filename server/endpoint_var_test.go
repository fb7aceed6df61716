package server

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func putVar(t *testing.T, s *Server, op structs.VarOp, check uint64, path string, items map[string]string) *structs.VarApplyReply {
	t.Helper()
	reply, err := s.ApplyVar(&structs.VarApplyArgs{Op: op, CheckIndex: check, Var: &api.Variable{Path: path, Items: items}})
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return reply
}

func TestVarApplySealsAndChecksIndexes(t *testing.T) {
	s := testServer(t, time.Minute)
	created := putVar(t, s, structs.VarOpSet, 0, "app/db", map[string]string{"password": "hunter2"})
	if created.Output == nil || created.Output.Items["password"] != "hunter2" || created.Output.Namespace != "default" {
		t.Fatalf("created variable = %+v", created.Output)
	}
	stored, err := s.State().Snapshot().VarGet("default", "app/db")
	if err != nil || stored == nil {
		t.Fatalf("stored variable: %v, %v", stored, err)
	}
	if bytes.Contains(stored.Data, []byte("hunter2")) || stored.KeyID == "" {
		t.Fatalf("stored variable is not sealed: key %q, data %q", stored.KeyID, stored.Data)
	}

	stale := putVar(t, s, structs.VarOpCAS, created.Output.ModifyIndex+100, "app/db", map[string]string{"password": "x"})
	if stale.Conflict == nil || stale.Conflict.ModifyIndex != created.Output.ModifyIndex || stale.Conflict.Items["password"] != "hunter2" {
		t.Fatalf("stale check-and-set: conflict = %+v", stale.Conflict)
	}
	updated := putVar(t, s, structs.VarOpCAS, created.Output.ModifyIndex, "app/db", map[string]string{"password": "new"})
	if updated.Conflict != nil || updated.Output.Items["password"] != "new" || updated.Output.CreateIndex != created.Output.CreateIndex {
		t.Fatalf("check-and-set update = %+v, conflict %+v", updated.Output, updated.Conflict)
	}

	deleteStale := putVar(t, s, structs.VarOpDeleteCAS, created.Output.ModifyIndex, "app/db", nil)
	if deleteStale.Conflict == nil || deleteStale.Conflict.ModifyIndex != updated.Output.ModifyIndex {
		t.Fatalf("stale delete: conflict = %+v", deleteStale.Conflict)
	}
	putVar(t, s, structs.VarOpDeleteCAS, updated.Output.ModifyIndex, "app/db", nil)
	if v, _ := s.State().Snapshot().VarGet("default", "app/db"); v != nil {
		t.Fatalf("variable still stored after delete: %+v", v)
	}
}

func TestVarApplyRejectsBadInput(t *testing.T) {
	s := testServer(t, time.Minute)
	items := map[string]string{"k": "v"}
	cases := []struct {
		name  string
		op    structs.VarOp
		path  string
		items map[string]string
	}{
		{"empty path", structs.VarOpSet, "", items},
		{"bad character", structs.VarOpSet, "app/d b", items},
		{"dot in path", structs.VarOpSet, "app.db", items},
		{"reserved nomad tree", structs.VarOpSet, "nomad/other", items},
		{"too deep under nomad/jobs", structs.VarOpSet, "nomad/jobs/j/g/t/x", items},
		{"no items", structs.VarOpSet, "app/db", nil},
		{"unknown operation", structs.VarOp("rename"), "app/db", items},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ApplyVar(&structs.VarApplyArgs{Op: tc.op, Var: &api.Variable{Path: tc.path, Items: tc.items}})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
		})
	}
	if vars, _ := s.State().Snapshot().VarsByPrefix("*", ""); len(vars) != 0 {
		t.Fatalf("rejected writes stored %d variables", len(vars))
	}
	putVar(t, s, structs.VarOpSet, 0, "nomad/jobs/web/api/main", items)
}
