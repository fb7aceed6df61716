package e2e

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// tokenClient is an API client for the agent that sends secret.
func (a *devAgent) tokenClient(t *testing.T, secret string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.addr, SecretID: secret})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantDenied fails unless err is Nomad's 403.
func wantDenied(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), msg) {
		t.Fatalf("%s: err = %v, want 403 %q", what, err, msg)
	}
}

// TestACLs runs a dev agent with ACLs on through the official Go client:
// bootstrap, the anonymous token, a read-only policy, a role, management,
// and an expired token.
func TestACLs(t *testing.T) {
	a := launchDevAgent(t, "acl {\n  enabled = true\n}\n")
	waitUntil(t, 30*time.Second, "the HTTP API", func() bool {
		_, err := a.client.Status().Leader()
		return err == nil
	})
	const chosen = "3f1b5e8a-7c2d-4e6f-9a0b-1c2d3e4f5a6b"
	boot, _, err := a.client.ACLTokens().BootstrapOpts(chosen, nil)
	if err != nil {
		t.Fatal(err)
	}
	if boot.SecretID != chosen || boot.Type != "management" {
		t.Fatalf("bootstrap token %+v", boot)
	}
	if _, _, err := a.client.ACLTokens().Bootstrap(nil); err == nil || !strings.Contains(err.Error(), "ACL bootstrap already done") {
		t.Fatalf("second bootstrap: %v", err)
	}

	_, _, err = a.client.Jobs().List(nil)
	wantDenied(t, "anonymous job list", err, "Permission denied")
	mgmt := a.tokenClient(t, boot.SecretID)
	a.client = mgmt
	a.waitReady(t)

	policies := map[string]string{
		"readonly":  `namespace "default" { policy = "read" }`,
		"deployer":  `namespace "default" { policy = "write" }`,
		"anonymous": `agent { policy = "read" }`,
	}
	for name, rules := range policies {
		if _, err := mgmt.ACLPolicies().Upsert(&api.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatalf("policy %s: %v", name, err)
		}
	}
	reader, _, err := mgmt.ACLTokens().Create(&api.ACLToken{Name: "reader", Type: "client", Policies: []string{"readonly"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	role, _, err := mgmt.ACLRoles().Create(&api.ACLRole{Name: "deployers", Policies: []*api.ACLRolePolicyLink{{Name: "deployer"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deployer, _, err := mgmt.ACLTokens().Create(&api.ACLToken{Name: "deployer", Type: "client", Roles: []*api.ACLTokenRoleLink{{ID: role.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("anonymous policy", func(t *testing.T) {
		if _, err := a.tokenClient(t, "").Agent().Self(); err != nil {
			t.Fatalf("anonymous agent self with an anonymous policy: %v", err)
		}
		_, _, err := a.tokenClient(t, "").Jobs().List(nil)
		wantDenied(t, "anonymous job list", err, "Permission denied")
	})

	t.Run("read-only token reads but cannot register", func(t *testing.T) {
		ro := a.tokenClient(t, reader.SecretID)
		if _, _, err := ro.Jobs().List(nil); err != nil {
			t.Fatalf("read-only list: %v", err)
		}
		_, _, err := ro.Jobs().Register(shellJob("denied", "batch", 1, "true"), nil)
		wantDenied(t, "read-only register", err, "Permission denied")
		if _, _, err := mgmt.Jobs().Info("denied", nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("a denied register stored the job: %v", err)
		}
		_, _, err = ro.Nodes().List(nil)
		wantDenied(t, "read-only node list", err, "Permission denied")
		_, _, err = ro.ACLTokens().List(nil)
		wantDenied(t, "read-only token list", err, "Permission denied")
	})

	t.Run("management registers and the reader sees it", func(t *testing.T) {
		if _, _, err := mgmt.Jobs().Register(shellJob("managed", "batch", 1, "true"), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.tokenClient(t, reader.SecretID).Jobs().Info("managed", nil); err != nil {
			t.Fatalf("reader job info: %v", err)
		}
	})

	t.Run("a role grants its policies", func(t *testing.T) {
		dc := a.tokenClient(t, deployer.SecretID)
		if _, _, err := dc.Jobs().Register(shellJob("by-role", "batch", 1, "true"), nil); err != nil {
			t.Fatalf("register through a role: %v", err)
		}
		self, _, err := dc.ACLTokens().Self(nil)
		if err != nil || self.AccessorID != deployer.AccessorID {
			t.Fatalf("token self: %+v, %v", self, err)
		}
		roles, _, err := dc.ACLRoles().List(nil)
		if err != nil || len(roles) != 1 || roles[0].Name != "deployers" {
			t.Fatalf("a token lists its own roles: %+v, %v", roles, err)
		}
	})

	t.Run("expired and unknown tokens", func(t *testing.T) {
		short, _, err := mgmt.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"readonly"}, ExpirationTTL: 2 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if short.ExpirationTime == nil {
			t.Fatal("token has no expiration time")
		}
		time.Sleep(time.Until(*short.ExpirationTime) + 100*time.Millisecond)
		_, _, err = a.tokenClient(t, short.SecretID).Jobs().List(nil)
		wantDenied(t, "expired token", err, "ACL token expired")
		_, _, err = a.tokenClient(t, "5b0a7d0c-0000-4000-8000-000000000000").Jobs().List(nil)
		wantDenied(t, "unknown token", err, "ACL token not found")
	})

	t.Run("bearer header", func(t *testing.T) {
		req, _ := http.NewRequest("GET", a.addr+"/v1/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+reader.SecretID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("bearer token: status %d", resp.StatusCode)
		}
	})
	t.Run("secrets are never logged", func(t *testing.T) {
		logged, err := os.ReadFile(a.log.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{boot.SecretID, reader.SecretID, deployer.SecretID} {
			if strings.Contains(string(logged), secret) {
				t.Errorf("the agent log holds a token secret")
			}
		}
	})
	for _, id := range []string{"managed", "by-role"} {
		_, _, _ = mgmt.Jobs().Deregister(id, true, nil)
	}
}
