package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func TestReadVarBlocksUntilTheVariableChanges(t *testing.T) {
	s := testServer(t, time.Minute)
	first := putVar(t, s, structs.VarOpSet, 0, "app/db", map[string]string{"password": "one"})
	ctx := context.Background()

	got, err := s.ReadVar(ctx, &structs.VarReadArgs{Path: "app/db"})
	if err != nil || got.Var == nil || got.Var.Items["password"] != "one" || got.Index != first.Output.ModifyIndex {
		t.Fatalf("read = %+v, %v", got, err)
	}
	done := make(chan *structs.VarReadReply, 1)
	go func() {
		r, err := s.ReadVar(ctx, &structs.VarReadArgs{Path: "app/db", QueryArgs: structs.QueryArgs{MinIndex: got.Index, Wait: 10 * time.Second}})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	putVar(t, s, structs.VarOpSet, 0, "other", map[string]string{"k": "v"})
	second := putVar(t, s, structs.VarOpSet, 0, "app/db", map[string]string{"password": "two"})
	r := <-done
	if r == nil || r.Var == nil || r.Var.Items["password"] != "two" || r.Index != second.Output.ModifyIndex {
		t.Fatalf("blocking read = %+v", r)
	}

	missing, err := s.ReadVar(ctx, &structs.VarReadArgs{Path: "nope"})
	if err != nil || missing.Var != nil || missing.Index == 0 {
		t.Fatalf("missing variable: %+v, %v", missing, err)
	}
	list, err := s.ListVars(ctx, &structs.VarListArgs{Prefix: "app/"})
	if err != nil || len(list.Vars) != 1 || list.Vars[0].Path != "app/db" {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

func TestTemplateReadsCheckTheToken(t *testing.T) {
	s := testACLServer(t, t.TempDir())
	if _, err := s.BootstrapACL(&structs.ACLBootstrapArgs{}); err != nil {
		t.Fatal(err)
	}
	putVar(t, s, structs.VarOpSet, 0, "nomad/jobs/app", map[string]string{"k": "app"})
	putVar(t, s, structs.VarOpSet, 0, "nomad/jobs/other", map[string]string{"k": "other"})
	putPolicy(t, s, "app", `namespace "default" {
  capabilities = ["read-job"]
  variables {
    path "nomad/jobs/app" { capabilities = ["read", "list"] }
  }
}`)
	app := putToken(t, s, &api.ACLToken{Name: "app", Type: "client", Policies: []string{"app"}})
	ctx := context.Background()
	cases := []struct {
		name    string
		token   string
		path    string
		allowed bool
	}{
		{"own variable", app.SecretID, "nomad/jobs/app", true},
		{"another job's variable", app.SecretID, "nomad/jobs/other", false},
		{"no token", "", "nomad/jobs/app", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.ReadVar(ctx, &structs.VarReadArgs{Path: tc.path, QueryArgs: structs.QueryArgs{WriteRequest: structs.WriteRequest{AuthToken: tc.token}}})
			if !tc.allowed {
				if !errors.Is(err, ErrPermissionDenied) {
					t.Fatalf("read = %+v, %v; want permission denied", r, err)
				}
				return
			}
			if err != nil || r.Var == nil {
				t.Fatalf("read = %+v, %v", r, err)
			}
		})
	}
	list, err := s.ListVars(ctx, &structs.VarListArgs{Prefix: "nomad/", QueryArgs: structs.QueryArgs{WriteRequest: structs.WriteRequest{AuthToken: app.SecretID}}})
	if err != nil || len(list.Vars) != 1 || list.Vars[0].Path != "nomad/jobs/app" {
		t.Fatalf("list shows what the token may not list: %+v, %v", list, err)
	}
	if _, err := s.ListServiceRegistrations(ctx, &structs.ServiceListArgs{}); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("anonymous service list: %v", err)
	}
	if _, err := s.ListServiceRegistrations(ctx, &structs.ServiceListArgs{QueryArgs: structs.QueryArgs{WriteRequest: structs.WriteRequest{AuthToken: app.SecretID}}}); err != nil {
		t.Fatalf("service list with read: %v", err)
	}
}
