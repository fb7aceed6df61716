package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func TestACLTables(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		apply   func(index uint64) error
		wantErr string
	}{
		{"policy", func(i uint64) error {
			return s.UpsertACLPolicies(i, &structs.ACLPolicyUpsertRequest{Policies: []*api.ACLPolicy{{Name: "p", Rules: `node { policy = "read" }`}}})
		}, ""},
		{"policy update keeps its create index", func(i uint64) error {
			return s.UpsertACLPolicies(i, &structs.ACLPolicyUpsertRequest{Policies: []*api.ACLPolicy{{Name: "p", Description: "d"}}})
		}, ""},
		{"bootstrap", func(i uint64) error {
			return s.BootstrapACLToken(i, &structs.ACLTokenBootstrapRequest{Token: &api.ACLToken{AccessorID: "a1", SecretID: "s1", Type: "management"}})
		}, ""},
		{"second bootstrap", func(i uint64) error {
			return s.BootstrapACLToken(i, &structs.ACLTokenBootstrapRequest{Token: &api.ACLToken{AccessorID: "a2", SecretID: "s2", Type: "management"}})
		}, "ACL bootstrap already done (reset index: 3)"},
		{"bootstrap with the reset index", func(i uint64) error {
			return s.BootstrapACLToken(i, &structs.ACLTokenBootstrapRequest{Token: &api.ACLToken{AccessorID: "a3", SecretID: "s3", Type: "management"}, ResetIndex: 3})
		}, ""},
		{"role", func(i uint64) error {
			return s.UpsertACLRoles(i, &structs.ACLRoleUpsertRequest{Roles: []*api.ACLRole{{ID: "r1", Name: "ops", Policies: []*api.ACLRolePolicyLink{{Name: "p"}}}}})
		}, ""},
		{"role name taken", func(i uint64) error {
			return s.UpsertACLRoles(i, &structs.ACLRoleUpsertRequest{Roles: []*api.ACLRole{{ID: "r2", Name: "ops"}}})
		}, "already exists"},
		{"delete unknown token", func(i uint64) error {
			return s.DeleteACLTokens(i, &structs.ACLTokenDeleteRequest{AccessorIDs: []string{"nope"}})
		}, "not found"},
	}
	for i, st := range steps {
		index := uint64(i + 1)
		err := st.apply(index)
		if st.wantErr == "" && err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("%s: err = %v, want %q", st.name, err, st.wantErr)
		}
	}
	snap := s.Snapshot()
	p, _ := snap.ACLPolicyByName("p")
	if p.CreateIndex != 1 || p.ModifyIndex != 2 || p.Description != "d" {
		t.Errorf("policy = %+v", p)
	}
	if tok, _ := snap.ACLTokenBySecret("s1"); tok == nil || tok.AccessorID != "a1" {
		t.Errorf("token by secret: %+v", tok)
	}
	if tok, _ := snap.ACLTokenBySecret("s2"); tok != nil {
		t.Errorf("refused bootstrap stored its token")
	}
	if got := snap.ACLBootstrapIndex(); got != 5 {
		t.Errorf("bootstrap index %d, want 5", got)
	}
	if r, _ := snap.ACLRoleByName("ops"); r == nil || r.ID != "r1" {
		t.Errorf("role by name: %+v", r)
	}

	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rs := restored.Snapshot()
	policies, _ := rs.ACLPolicies()
	tokens, _ := rs.ACLTokens()
	roles, _ := rs.ACLRoles()
	if len(policies) != 1 || len(tokens) != 2 || len(roles) != 1 || rs.ACLBootstrapIndex() != 5 {
		t.Fatalf("restored %d policies, %d tokens, %d roles, bootstrap index %d", len(policies), len(tokens), len(roles), rs.ACLBootstrapIndex())
	}
	if err := restored.DeleteACLPolicies(20, &structs.ACLPolicyDeleteRequest{Names: []string{"p"}}); err != nil {
		t.Fatal(err)
	}
	if err := restored.DeleteACLPolicies(21, &structs.ACLPolicyDeleteRequest{Names: []string{"p"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
