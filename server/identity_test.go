package server

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
)

// placedAlloc registers node n and job id and waits for its allocation.
func placedAlloc(t testing.TB, s *Server, id string) *api.Allocation {
	t.Helper()
	if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob(id, 1, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, id)) == 1 })
	return liveAllocs(t, s, id)[0]
}

// defaultIdentity signs the default identity of the alloc's task.
func defaultIdentity(t testing.TB, s *Server, alloc *api.Allocation) string {
	t.Helper()
	ids, err := s.SignIdentities(&structs.AllocSignIdentitiesArgs{AllocID: alloc.ID, TaskName: "server"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0].IdentityName != "default" {
		t.Fatalf("identities = %+v, want the default one", ids)
	}
	return ids[0].JWT
}

// TestWorkloadIdentityACL resolves a task's identity to its implicit
// policy (its own variables, nothing else), extended by a policy attached
// to its job, and refuses bad, expired and foreign identities with 403s.
func TestWorkloadIdentityACL(t *testing.T) {
	s := testACLServer(t, t.TempDir())
	alloc := placedAlloc(t, s, "web")
	token := defaultIdentity(t, s, alloc)

	a, tok, err := s.ResolveToken(token)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Name != "global:default:web:web:server:default" || tok.Type != "client" || tok.ExpirationTime != nil {
		t.Errorf("identity's token = %+v", tok)
	}
	checks := []struct {
		name string
		ok   bool
		want bool
	}{
		{"own job's variables", a.AllowVariableOperation("default", "nomad/jobs/web", acl.VariablesCapabilityRead), true},
		{"own task's variables", a.AllowVariableOperation("default", "nomad/jobs/web/web/server", acl.VariablesCapabilityRead), true},
		{"another job's variables", a.AllowVariableOperation("default", "nomad/jobs/db", acl.VariablesCapabilityRead), false},
		{"writing its own variables", a.AllowVariableOperation("default", "nomad/jobs/web", acl.VariablesCapabilityWrite), false},
		{"registering jobs", a.AllowNamespaceOperation("default", acl.NamespaceCapabilitySubmitJob), false},
		{"reading nodes", a.AllowNodeRead(), false},
	}
	for _, c := range checks {
		if c.ok != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, c.ok, c.want)
		}
	}

	attach := func(name string, j *api.JobACL) error {
		_, err := s.UpsertACLPolicies(&structs.ACLPolicyUpsertArgs{Policies: []*api.ACLPolicy{{Name: name, JobACL: j,
			Rules: `namespace "default" { capabilities = ["read-job"] }`}}})
		return err
	}
	if err := attach("other-task", &api.JobACL{Namespace: "default", JobID: "web", Group: "web", Task: "other"}); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := s.ResolveToken(token); a.AllowNamespaceOperation("default", acl.NamespaceCapabilityReadJob) {
		t.Error("a policy attached to another task of the job applies")
	}
	if err := attach("web-reader", &api.JobACL{Namespace: "default", JobID: "web"}); err != nil {
		t.Fatal(err)
	}
	a, tok, err = s.ResolveToken(token)
	if err != nil || !a.AllowNamespaceOperation("default", acl.NamespaceCapabilityReadJob) || len(tok.Policies) != 1 || tok.Policies[0] != "web-reader" {
		t.Fatalf("policy attached to the job: read-job %v, policies %v, %v", a != nil && a.AllowNamespaceOperation("default", acl.NamespaceCapabilityReadJob), tok, err)
	}
	if !a.AllowVariableOperation("default", "nomad/jobs/web", acl.VariablesCapabilityRead) {
		t.Error("an attached policy hides the implicit one")
	}
	for _, bad := range []*api.JobACL{{JobID: "web"}, {Namespace: "default"}, {Namespace: "default", JobID: "web", Task: "server"}} {
		if err := attach("bad", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("job ACL %+v: error %v, want invalid", bad, err)
		}
	}

	kid, key, err := s.signingKey(s.State().Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	w := identity.Workload{Region: "global", Namespace: "default", JobID: "web", Group: "web", Task: "server", AllocID: alloc.ID}
	signed := func(k *rsa.PrivateKey, kid string, wid *api.WorkloadIdentity, at time.Time, edit func(*identity.Claims)) string {
		c := identity.NewClaims(w, wid, "", at)
		if edit != nil {
			edit(c)
		}
		tok, err := identity.Sign(k, kid, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
	parts := strings.Split(token, ".")
	cases := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"expired", signed(key, kid, &api.WorkloadIdentity{TTL: time.Minute}, time.Now().Add(-time.Hour), nil), ErrTokenExpired},
		{"signed with a key not in the keyring", signed(foreign, kid, &api.WorkloadIdentity{}, time.Now(), nil), ErrTokenInvalid},
		{"unknown kid", signed(key, "8d2b5a7e-0000-0000-0000-000000000000", &api.WorkloadIdentity{}, time.Now(), nil), ErrTokenInvalid},
		{"tampered", parts[0] + "." + parts[1] + "x." + parts[2], ErrTokenInvalid},
		{"unknown allocation", signed(key, kid, &api.WorkloadIdentity{}, time.Now(), func(c *identity.Claims) { c.AllocationID = "nope" }), ErrTokenInvalid},
		{"claims another job of the allocation", signed(key, kid, &api.WorkloadIdentity{}, time.Now(), func(c *identity.Claims) { c.JobID = "db" }), ErrTokenInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := s.ResolveToken(tc.token); !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
		})
	}

	started := &api.TaskState{State: structs.TaskStateRunning, StartedAt: time.Now()}
	if err := s.UpdateAllocations([]*api.Allocation{{ID: alloc.ID, NodeID: "n", ClientStatus: structs.AllocClientStatusRunning,
		TaskStates: map[string]*api.TaskState{"server": started}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the task's start", func() bool {
		a, _ := s.State().Snapshot().AllocByID(alloc.ID)
		return a != nil && a.TaskStates["server"] != nil
	})
	t.Run("rotation keeps old identities valid while their key exists", func(t *testing.T) {
		if _, err := s.RotateRootKey(&structs.KeyringRotateArgs{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ResolveToken(token); err != nil {
			t.Fatalf("identity signed before rotation: %v", err)
		}
		fresh := defaultIdentity(t, s, alloc)
		if newKid, _, _ := s.signingKey(s.State().Snapshot()); newKid == kid || !strings.Contains(fresh, ".") {
			t.Fatal("rotation did not change the signing key")
		}
		if _, err := s.DeleteRootKey(&structs.KeyringDeleteArgs{KeyID: kid}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "signed the workload identities") {
			t.Fatalf("deleting the key a running task's identity is signed with: %v", err)
		}
		if _, err := s.DeleteRootKey(&structs.KeyringDeleteArgs{KeyID: kid, Force: true}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ResolveToken(token); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("identity of a removed key: %v, want invalid", err)
		}
		if _, _, err := s.ResolveToken(fresh); err != nil {
			t.Fatalf("identity of the new key: %v", err)
		}
		token = fresh
	})

	t.Run("a terminal allocation's identity is refused", func(t *testing.T) {
		if err := s.UpdateAllocations([]*api.Allocation{{ID: alloc.ID, NodeID: "n", ClientStatus: structs.AllocClientStatusComplete}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "terminal alloc", func() bool { _, _, err := s.ResolveToken(token); return errors.Is(err, ErrTokenInvalid) })
		if _, err := s.SignIdentities(&structs.AllocSignIdentitiesArgs{AllocID: alloc.ID, TaskName: "server"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("signing for a terminal alloc: %v", err)
		}
	})
}

// TestSignIdentitiesOverRPC: a client may get identities for its own
// allocations only, proving its node with its SecretID.
func TestSignIdentitiesOverRPC(t *testing.T) {
	s := rpcServer(t, nil)
	client := rpc.DialConfig{Role: rpc.RoleClient}
	auth := func(id, secret string) structs.NodeAuth { return structs.NodeAuth{AuthNodeID: id, SecretID: secret} }
	for _, n := range []string{"n", "other"} {
		if err := call(t, s, client, "Node.Register", &structs.NodeRegisterArgs{Node: testNode(n, 4096), NodeAuth: auth(n, "secret-"+n)}, &structs.HeartbeatReply{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateEligibility("", "other", structs.NodeSchedulingIneligible); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 1, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	alloc := liveAllocs(t, s, "web")[0]
	cases := []struct {
		name    string
		auth    structs.NodeAuth
		task    string
		wantErr string
	}{
		{"the alloc's node", auth(alloc.NodeID, "secret-"+alloc.NodeID), "server", ""},
		{"a wrong secret", auth(alloc.NodeID, "guess"), "server", "wrong SecretID"},
		{"another node", auth("other", "secret-other"), "server", "does not run on node other"},
		{"no node", structs.NodeAuth{}, "server", "names no node"},
		{"an unknown task", auth(alloc.NodeID, "secret-"+alloc.NodeID), "nope", "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var reply structs.AllocSignIdentitiesReply
			err := call(t, s, client, "Alloc.SignIdentities", &structs.AllocSignIdentitiesArgs{AllocID: alloc.ID, TaskName: tc.task, NodeAuth: tc.auth}, &reply)
			if tc.wantErr == "" {
				if err != nil || len(reply.Identities) != 1 || !identity.LooksLike(reply.Identities[0].JWT) {
					t.Fatalf("reply %+v, %v", reply, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}

// BenchmarkIdentity measures signing a task's identities (once per task
// start) and resolving one on a request (signature check, allocation
// lookup, cached ACL).
func BenchmarkIdentity(b *testing.B) {
	s, err := New(Config{NodeName: "bench.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1,
		ACLEnabled: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Shutdown)
	waitFor(b, "leadership", func() bool { return s.IsLeader() })
	alloc := placedAlloc(b, s, "web")
	token := defaultIdentity(b, s, alloc)
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			defaultIdentity(b, s, alloc)
		}
	})
	b.Run("resolve", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.ResolveToken(token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestScheduledKeyRotation: the leader rotates a root key older than
// root_key_rotation_threshold, keeping the old one (its identities stay
// valid).
func TestScheduledKeyRotation(t *testing.T) {
	s, err := New(Config{NodeName: "rotate.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1,
		ACLEnabled: true, RootKeyRotation: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	waitFor(t, "leadership", func() bool { return s.IsLeader() })
	alloc := placedAlloc(t, s, "web")
	token := defaultIdentity(t, s, alloc)
	first, _, _ := s.signingKey(s.State().Snapshot())
	waitFor(t, "a scheduled rotation", func() bool {
		kid, _, err := s.signingKey(s.State().Snapshot())
		return err == nil && kid != first
	})
	if _, _, err := s.ResolveToken(token); err != nil {
		t.Fatalf("identity signed before the rotation: %v", err)
	}
}
