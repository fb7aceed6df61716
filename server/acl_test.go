package server

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/structs"
)

// testACLServer is a single server with ACLs on and its data in dir.
func testACLServer(t *testing.T, dir string) *Server {
	t.Helper()
	s, err := New(Config{NodeName: "acl.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1,
		DataDir: dir, ACLEnabled: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	waitFor(t, "leadership", func() bool { return s.IsLeader() })
	return s
}

func putPolicy(t *testing.T, s *Server, name, rules string) {
	t.Helper()
	if _, err := s.UpsertACLPolicies(&structs.ACLPolicyUpsertArgs{Policies: []*api.ACLPolicy{{Name: name, Rules: rules}}}); err != nil {
		t.Fatal(err)
	}
}

func putToken(t *testing.T, s *Server, tok *api.ACLToken) *api.ACLToken {
	t.Helper()
	res, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	return res.Token
}

func TestACLBootstrapOnce(t *testing.T) {
	dir := t.TempDir()
	s := testACLServer(t, dir)
	secret := "9a6f1d1e-1b2c-4d5e-8f90-0a1b2c3d4e5f"
	tok, err := s.BootstrapACL(&structs.ACLBootstrapArgs{BootstrapSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if tok.SecretID != secret || tok.Type != structs.ACLManagementToken || !tok.Global || tok.CreateIndex == 0 {
		t.Fatalf("bootstrap token = %+v", tok)
	}
	_, err = s.BootstrapACL(&structs.ACLBootstrapArgs{})
	if err == nil || !strings.Contains(err.Error(), "ACL bootstrap already done") || !errors.Is(err, ErrInvalid) {
		t.Fatalf("second bootstrap: %v", err)
	}
	tokens, _ := s.State().Snapshot().ACLTokens()
	if len(tokens) != 1 {
		t.Fatalf("second bootstrap stored a token: %d tokens", len(tokens))
	}
	// An operator resets the bootstrap by writing its index to the data dir.
	reset := strconv.FormatUint(s.State().Snapshot().ACLBootstrapIndex(), 10)
	if err := os.WriteFile(filepath.Join(dir, "server", "acl-bootstrap-reset"), []byte(reset), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BootstrapACL(&structs.ACLBootstrapArgs{}); err != nil {
		t.Fatalf("bootstrap after reset: %v", err)
	}
	if _, err := s.BootstrapACL(&structs.ACLBootstrapArgs{BootstrapSecret: "not-a-uuid"}); err == nil {
		t.Fatal("bootstrap accepted a secret that is not a UUID")
	}
}

func TestACLResolveToken(t *testing.T) {
	s := testACLServer(t, "")
	putPolicy(t, s, "readonly", `namespace "default" { policy = "read" }`)
	putPolicy(t, s, "nodes", `node { policy = "write" }`)
	role, err := s.UpsertACLRole(&structs.ACLRoleUpsertArgs{Role: &api.ACLRole{Name: "ops", Policies: []*api.ACLRolePolicyLink{{Name: "nodes"}}}})
	if err != nil {
		t.Fatal(err)
	}
	mgmt := putToken(t, s, &api.ACLToken{Type: "management", Name: "admin"})
	reader := putToken(t, s, &api.ACLToken{Type: "client", Policies: []string{"readonly"}})
	// A policy may be named before it exists, as in Nomad.
	early := putToken(t, s, &api.ACLToken{Type: "client", Policies: []string{"later"}})
	viaRole := putToken(t, s, &api.ACLToken{Type: "client", Roles: []*api.ACLTokenRoleLink{{Name: "ops"}}})
	short := putToken(t, s, &api.ACLToken{Type: "client", Policies: []string{"readonly"}, ExpirationTTL: 50 * time.Millisecond})
	if short.ExpirationTime == nil || !short.ExpirationTime.Equal(short.CreateTime.Add(50*time.Millisecond)) {
		t.Fatalf("expiration time %v from TTL, create time %v", short.ExpirationTime, short.CreateTime)
	}
	if viaRole.Roles[0].ID != role.Role.ID {
		t.Fatalf("role link by name resolved to %+v", viaRole.Roles[0])
	}
	time.Sleep(60 * time.Millisecond)

	cases := []struct {
		name    string
		secret  string
		wantErr error
		check   func(*acl.ACL) bool
		want    bool
	}{
		{"management", mgmt.SecretID, nil, (*acl.ACL).IsManagement, true},
		{"reader reads jobs", reader.SecretID, nil, nsAllows("default", acl.NamespaceCapabilityReadJob), true},
		{"reader cannot submit", reader.SecretID, nil, nsAllows("default", acl.NamespaceCapabilitySubmitJob), false},
		{"a policy not yet created grants nothing", early.SecretID, nil, (*acl.ACL).AllowNodeRead, false},
		{"role grants node write", viaRole.SecretID, nil, (*acl.ACL).AllowNodeWrite, true},
		{"role grants nothing else", viaRole.SecretID, nil, nsAllows("default", acl.NamespaceCapabilityReadJob), false},
		{"anonymous without a policy", "", nil, nsAllows("default", acl.NamespaceCapabilityListJobs), false},
		{"unknown secret", "5b0a7d0c-0000-4000-8000-000000000000", ErrTokenNotFound, nil, false},
		{"expired token", short.SecretID, ErrTokenExpired, nil, false},
		{"oversized secret", strings.Repeat("x", 500), ErrTokenInvalid, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _, err := s.ResolveToken(tc.secret)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.check(a); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("anonymous policy applies without a token", func(t *testing.T) {
		putPolicy(t, s, structs.AnonymousPolicy, `namespace "default" { capabilities = ["list-jobs"] }`)
		a, _, err := s.ResolveToken("")
		if err != nil || !a.AllowNamespaceOperation("default", acl.NamespaceCapabilityListJobs) {
			t.Fatalf("anonymous: %v", err)
		}
	})
	t.Run("an uploaded token keeps its IDs and resolves", func(t *testing.T) {
		up := putToken(t, s, &api.ACLToken{AccessorID: "0f8b2c3d-0000-4000-8000-00000000000a", SecretID: "0f8b2c3d-0000-4000-8000-00000000000b",
			Type: "client", Policies: []string{"readonly"}})
		a, _, err := s.ResolveToken("0f8b2c3d-0000-4000-8000-00000000000b")
		if err != nil || up.AccessorID != "0f8b2c3d-0000-4000-8000-00000000000a" || !a.AllowNamespaceOperation("default", acl.NamespaceCapabilityReadJob) {
			t.Fatalf("uploaded token %+v resolves to %v, %v", up, a, err)
		}
	})
	t.Run("a policy created after its token applies at once", func(t *testing.T) {
		putPolicy(t, s, "later", `node { policy = "read" }`)
		a, _, err := s.ResolveToken(early.SecretID)
		if err != nil || !a.AllowNodeRead() {
			t.Fatalf("policy created after the token not applied: %v", err)
		}
	})
	t.Run("a changed policy applies at once", func(t *testing.T) {
		putPolicy(t, s, "readonly", `namespace "default" { policy = "write" }`)
		a, _, err := s.ResolveToken(reader.SecretID)
		if err != nil || !a.AllowNamespaceOperation("default", acl.NamespaceCapabilitySubmitJob) {
			t.Fatalf("updated policy not applied: %v", err)
		}
	})
}

func TestACLWritesRejectBadInput(t *testing.T) {
	s := testACLServer(t, "")
	putPolicy(t, s, "ok", `node { policy = "read" }`)
	existing := putToken(t, s, &api.ACLToken{Type: "management"})
	cases := []struct {
		name  string
		write func() error
		want  string
	}{
		{"policy syntax error names the line", func() error {
			_, err := s.UpsertACLPolicies(&structs.ACLPolicyUpsertArgs{Policies: []*api.ACLPolicy{{Name: "bad", Rules: "node {\n policy = \n}"}}})
			return err
		}, "policy.hcl:2"},
		{"policy name", func() error {
			_, err := s.UpsertACLPolicies(&structs.ACLPolicyUpsertArgs{Policies: []*api.ACLPolicy{{Name: "bad name", Rules: ""}}})
			return err
		}, "invalid policy name"},
		{"token type", func() error {
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{Type: "root"}})
			return err
		}, "client or management"},
		{"client token without policies", func() error {
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{Type: "client"}})
			return err
		}, "missing policies"},
		{"management token with policies", func() error {
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{Type: "management", Policies: []string{"ok"}}})
			return err
		}, "cannot be associated"},
		{"unknown role", func() error {
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{Type: "client", Roles: []*api.ACLTokenRoleLink{{Name: "nope"}}}})
			return err
		}, "cannot find role"},
		{"role without policies", func() error {
			_, err := s.UpsertACLRole(&structs.ACLRoleUpsertArgs{Role: &api.ACLRole{Name: "r"}})
			return err
		}, "at least one policy"},
		{"role with unknown policy", func() error {
			_, err := s.UpsertACLRole(&structs.ACLRoleUpsertArgs{Role: &api.ACLRole{Name: "r", Policies: []*api.ACLRolePolicyLink{{Name: "nope"}}}})
			return err
		}, "cannot find policy"},
		{"update changing the expiration", func() error {
			changed := *existing
			changed.ExpirationTTL = time.Hour
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &changed})
			return err
		}, "cannot update expiration TTL"},
		{"upload of a management token", func() error {
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{AccessorID: "5b0a7d0c-0000-4000-8000-000000000001",
				SecretID: "5b0a7d0c-0000-4000-8000-000000000002", Type: "management"}})
			return err
		}, "cannot upload management tokens"},
		{"upload with a secret in use", func() error {
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{AccessorID: "5b0a7d0c-0000-4000-8000-000000000003",
				SecretID: existing.SecretID, Type: "client", Policies: []string{"p"}}})
			return err
		}, "secret ID already in use"},
		{"update of unknown token", func() error {
			_, err := s.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{AccessorID: "5b0a7d0c-0000-4000-8000-000000000000", Type: "management"}})
			return err
		}, "cannot find token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.State().Snapshot().ACLIndex()
			err := tc.write()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if after := s.State().Snapshot().ACLIndex(); after != before {
				t.Fatalf("rejected write changed state: %d -> %d", before, after)
			}
		})
	}
}

// settledIndex waits for the scheduler to finish with the evaluations an
// allowed call created, so that a change seen next is the call's own.
func settledIndex(t *testing.T, s *Server) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := s.State().Snapshot().LatestIndex()
		time.Sleep(100 * time.Millisecond)
		if after := s.State().Snapshot().LatestIndex(); after == before {
			return after
		}
		if time.Now().After(deadline) {
			t.Fatal("state never settled")
		}
	}
}

// TestRPCEndpointsCheckTokens calls the RPC endpoints a follower forwards
// HTTP writes to: each checks the token the request carries.
func TestRPCEndpointsCheckTokens(t *testing.T) {
	s := testACLServer(t, "")
	putPolicy(t, s, "read", `namespace "default" { policy = "read" }`)
	putPolicy(t, s, "write", `namespace "default" { policy = "write" }
node { policy = "write" }`)
	reader := putToken(t, s, &api.ACLToken{Type: "client", Policies: []string{"read"}}).SecretID
	writer := putToken(t, s, &api.ACLToken{Type: "client", Policies: []string{"write"}}).SecretID
	mgmt := putToken(t, s, &api.ACLToken{Type: "management"}).SecretID
	if _, err := s.RegisterNode(testNode("n1", 4096)); err != nil {
		t.Fatal(err)
	}
	jobs, allocs, nodes, vars, system := &jobEndpoint{s}, &allocEndpoint{s}, &nodeEndpoint{s}, &varEndpoint{s}, &systemEndpoint{s}
	acls := &aclEndpoint{s}
	cases := []struct {
		name    string
		granted string
		call    func(token string) error
	}{
		{"Job.Register", writer, func(tok string) error {
			return jobs.Register(&structs.JobRegisterArgs{Job: testJob("rpc", 0, 64), WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.JobRegisterReply{})
		}},
		{"Job.Evaluate", writer, func(tok string) error {
			return jobs.Evaluate(&structs.JobEvaluateArgs{Namespace: "default", JobID: "rpc", WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.EvalReply{})
		}},
		{"Job.Scale", writer, func(tok string) error {
			return jobs.Scale(&structs.JobScaleArgs{Namespace: "default", JobID: "rpc", Group: "web", Count: ptr(int64(0)), WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.JobRegisterReply{})
		}},
		{"Node.UpdateEligibility", writer, func(tok string) error {
			return nodes.UpdateEligibility(&structs.NodeEligibilityArgs{NodeID: "n1", Eligibility: "ineligible", WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.IndexReply{})
		}},
		{"Var.Apply", writer, func(tok string) error {
			return vars.Apply(&structs.VarApplyArgs{Op: structs.VarOpSet, Var: &api.Variable{Path: "a/b", Items: api.VariableItems{"k": "v"}}, WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.VarApplyReply{})
		}},
		{"Alloc.Stop", writer, func(tok string) error {
			err := allocs.Stop(&structs.AllocStopArgs{AllocID: "5b0a7d0c-0000-4000-8000-000000000000", WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.EvalReply{})
			if errors.Is(err, ErrNotFound) || (err != nil && strings.Contains(err.Error(), "not found")) {
				return nil // let through: the allocation does not exist
			}
			return err
		}},
		{"Job.Deregister", writer, func(tok string) error {
			return jobs.Deregister(&structs.JobDeregisterArgs{Namespace: "default", JobID: "rpc", WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.EvalReply{})
		}},
		{"ACL.UpsertAuthMethod", mgmt, func(tok string) error {
			return acls.UpsertAuthMethod(&structs.ACLAuthMethodUpsertArgs{AuthMethod: oidcMethod("rpc"), WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.ACLAuthMethodReply{})
		}},
		{"ACL.UpsertBindingRule", mgmt, func(tok string) error {
			return acls.UpsertBindingRule(&structs.ACLBindingRuleUpsertArgs{BindingRule: &api.ACLBindingRule{AuthMethod: "rpc", BindType: "management"},
				WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.ACLBindingRuleReply{})
		}},
		{"ACL.DeleteAuthMethods", mgmt, func(tok string) error {
			return acls.DeleteAuthMethods(&structs.ACLAuthMethodDeleteArgs{Names: []string{"rpc"}, WriteRequest: structs.WriteRequest{AuthToken: tok}}, &structs.IndexReply{})
		}},
		{"System.GarbageCollect", mgmt, func(tok string) error {
			return system.GarbageCollect(&structs.WriteRequest{AuthToken: tok}, &structs.IndexReply{})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, tok := range []string{"", reader} {
				before := settledIndex(t, s)
				if err := tc.call(tok); !errors.Is(err, ErrPermissionDenied) {
					t.Fatalf("token %q: err = %v, want permission denied", tok, err)
				}
				if after := s.State().Snapshot().LatestIndex(); after != before {
					t.Fatalf("denied call changed state: %d -> %d", before, after)
				}
			}
			if err := tc.call(tc.granted); err != nil {
				t.Fatalf("allowed call: %v", err)
			}
		})
	}
}
