package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func oidcMethod(name string) *api.ACLAuthMethod {
	return &api.ACLAuthMethod{Name: name, Type: "oidc", TokenLocality: "local", MaxTokenTTL: time.Hour,
		Config: &api.ACLAuthMethodConfig{OIDCDiscoveryURL: "https://idp.example.com", OIDCClientID: "roam"}}
}

// TestACLAuthMethodValidation refuses auth methods Nomad refuses, with
// the field at fault named.
func TestACLAuthMethodValidation(t *testing.T) {
	s := testACLServer(t, "")
	if _, err := s.UpsertACLAuthMethod(&structs.ACLAuthMethodUpsertArgs{AuthMethod: &api.ACLAuthMethod{
		Name: "first-default", Type: "JWT", TokenLocality: "global", MaxTokenTTL: time.Hour, Default: true,
		Config: &api.ACLAuthMethodConfig{JWKSURL: "https://idp.example.com/jwks"}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(m *api.ACLAuthMethod)
		want   string
	}{
		{"bad name", func(m *api.ACLAuthMethod) { m.Name = "no spaces" }, "invalid name"},
		{"bad type", func(m *api.ACLAuthMethod) { m.Type = "LDAP" }, "invalid type"},
		{"bad locality", func(m *api.ACLAuthMethod) { m.TokenLocality = "region" }, "invalid token locality"},
		{"TTL too short", func(m *api.ACLAuthMethod) { m.MaxTokenTTL = time.Second }, "invalid max token TTL"},
		{"TTL too long", func(m *api.ACLAuthMethod) { m.MaxTokenTTL = 48 * time.Hour }, "invalid max token TTL"},
		{"no config", func(m *api.ACLAuthMethod) { m.Config = nil }, "missing config"},
		{"OIDC without client", func(m *api.ACLAuthMethod) { m.Config.OIDCClientID = "" }, "needs OIDCDiscoveryURL and OIDCClientID"},
		{"JWT without keys", func(m *api.ACLAuthMethod) { m.Type, m.Config = "JWT", &api.ACLAuthMethodConfig{} }, "needs one of"},
		{"second default JWT", func(m *api.ACLAuthMethod) {
			m.Type, m.Default, m.Config = "JWT", true, &api.ACLAuthMethodConfig{JWKSURL: "https://x"}
		}, "default ACL auth method for type JWT already exists: first-default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := oidcMethod("method")
			tc.change(m)
			_, err := s.UpsertACLAuthMethod(&structs.ACLAuthMethodUpsertArgs{AuthMethod: m})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want invalid: %q", err, tc.want)
			}
		})
	}
	if _, err := s.UpsertACLAuthMethod(&structs.ACLAuthMethodUpsertArgs{AuthMethod: oidcMethod("absent"), Update: true}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a missing method: err = %v, want not found", err)
	}
}

// TestACLBindingRules stores binding rules of an auth method, refuses bad
// ones, keeps them across a restart, and deletes them with their method.
func TestACLBindingRules(t *testing.T) {
	dir := t.TempDir()
	s := testACLServer(t, dir)
	res, err := s.UpsertACLAuthMethod(&structs.ACLAuthMethodUpsertArgs{AuthMethod: oidcMethod("corp")})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.AuthMethod; m.Type != "OIDC" || m.TokenNameFormat != defaultTokenNameFormat || m.CreateTime.IsZero() {
		t.Fatalf("stored method = %+v", m)
	}
	bad := []struct {
		name string
		rule api.ACLBindingRule
		want string
	}{
		{"unknown method", api.ACLBindingRule{AuthMethod: "none", BindType: "management"}, `ACL auth method "none" not found`},
		{"bad bind type", api.ACLBindingRule{AuthMethod: "corp", BindType: "group", BindName: "x"}, "invalid bind type"},
		{"role without name", api.ACLBindingRule{AuthMethod: "corp", BindType: "role"}, "needs a bind name"},
		{"management with name", api.ACLBindingRule{AuthMethod: "corp", BindType: "management", BindName: "x"}, "takes no bind name"},
		{"bad selector", api.ACLBindingRule{AuthMethod: "corp", BindType: "policy", BindName: "p", Selector: "engineering =="}, "invalid selector"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpsertACLBindingRule(&structs.ACLBindingRuleUpsertArgs{BindingRule: &tc.rule})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want invalid: %q", err, tc.want)
			}
		})
	}
	created, err := s.UpsertACLBindingRule(&structs.ACLBindingRuleUpsertArgs{BindingRule: &api.ACLBindingRule{
		AuthMethod: "corp", BindType: "role", BindName: "eng", Selector: "engineering in list.groups"}})
	if err != nil {
		t.Fatal(err)
	}
	rule := created.BindingRule
	if rule.ID == "" || rule.CreateIndex == 0 {
		t.Fatalf("created rule = %+v", rule)
	}
	update := *rule
	update.AuthMethod = "other"
	if _, err := s.UpsertACLBindingRule(&structs.ACLBindingRuleUpsertArgs{BindingRule: &update}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("moving a rule to another method: err = %v, want invalid", err)
	}

	s.Shutdown()
	s = testACLServer(t, dir)
	waitFor(t, "the binding rule after a restart", func() bool {
		kept, err := s.State().Snapshot().ACLBindingRuleByID(rule.ID)
		return err == nil && kept != nil && kept.Selector == rule.Selector
	})
	if _, err := s.DeleteACLAuthMethods(&structs.ACLAuthMethodDeleteArgs{Names: []string{"corp"}}); err != nil {
		t.Fatal(err)
	}
	rules, err := s.State().Snapshot().ACLBindingRules()
	if err != nil || len(rules) != 0 {
		t.Fatalf("rules left after deleting their method: %+v, %v", rules, err)
	}
}

// TestReplicateAuthMethods applies the authoritative region's auth
// methods and binding rules, and deletes what it no longer has.
func TestReplicateAuthMethods(t *testing.T) {
	auth := testACLServer(t, "")
	if _, err := auth.UpsertACLAuthMethod(&structs.ACLAuthMethodUpsertArgs{AuthMethod: oidcMethod("corp")}); err != nil {
		t.Fatal(err)
	}
	rule, err := auth.UpsertACLBindingRule(&structs.ACLBindingRuleUpsertArgs{BindingRule: &api.ACLBindingRule{
		AuthMethod: "corp", BindType: "policy", BindName: "readers"}})
	if err != nil {
		t.Fatal(err)
	}
	var fetched structs.ReplicationFetchReply
	if err := (&replicationEndpoint{auth}).Fetch(&structs.ReplicationFetchArgs{}, &fetched); err != nil {
		t.Fatal(err)
	}
	if len(fetched.AuthMethods) != 1 || len(fetched.BindingRules) != 1 {
		t.Fatalf("fetched %d methods, %d rules; want 1, 1", len(fetched.AuthMethods), len(fetched.BindingRules))
	}

	other := testACLServer(t, "")
	if err := other.applyReplicated(&fetched); err != nil {
		t.Fatal(err)
	}
	snap := other.State().Snapshot()
	if m, _ := snap.ACLAuthMethodByName("corp"); m == nil || m.Config.OIDCClientID != "roam" {
		t.Fatalf("replicated method = %+v", m)
	}
	if r, _ := snap.ACLBindingRuleByID(rule.BindingRule.ID); r == nil || r.BindName != "readers" {
		t.Fatalf("replicated rule = %+v", r)
	}
	before := snap.ACLAuthMethodsIndex()
	if err := other.applyReplicated(&fetched); err != nil {
		t.Fatal(err)
	}
	if after := other.State().Snapshot().ACLAuthMethodsIndex(); after != before {
		t.Fatalf("replicating the same state again wrote it again: index %d -> %d", before, after)
	}

	fetched.AuthMethods, fetched.BindingRules = nil, nil
	if err := other.applyReplicated(&fetched); err != nil {
		t.Fatal(err)
	}
	snap = other.State().Snapshot()
	methods, _ := snap.ACLAuthMethods()
	rules, _ := snap.ACLBindingRules()
	if len(methods) != 0 || len(rules) != 0 {
		t.Fatalf("after the authoritative region deleted them: %d methods, %d rules left", len(methods), len(rules))
	}
}
