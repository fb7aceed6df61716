package e2e

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/nomad/api"
)

// TestWorkloadIdentity runs a task with `identity { env = true, file =
// true }` on a dev agent with ACLs on. The task, with the roam CLI and
// NOMAD_TOKEN from its environment, reads its own job's variable and is
// refused another job's; the test, with the token from the task's
// secrets/nomad_token and the official Go client, checks the same, that
// the token registers no job, verifies against /.well-known/jwks.json,
// survives a keyring rotation, and gains what a policy attached to the
// job grants.
func TestWorkloadIdentity(t *testing.T) {
	allocRoot := t.TempDir()
	a := launchDevAgent(t, "acl {\n  enabled = true\n}\nclient {\n  alloc_dir = \""+allocRoot+"\"\n}\n")
	waitUntil(t, 30*time.Second, "the HTTP API", func() bool { _, err := a.client.Status().Leader(); return err == nil })
	boot, _, err := a.client.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatal(err)
	}
	mgmt := a.tokenClient(t, boot.SecretID)
	a.client = mgmt
	a.waitReady(t)
	for path, secret := range map[string]string{"nomad/jobs/wi-app": "mine", "nomad/jobs/wi-other": "theirs"} {
		if _, _, err := mgmt.Variables().Create(&api.Variable{Path: path, Items: api.VariableItems{"secret": secret}}, nil); err != nil {
			t.Fatal(err)
		}
	}

	script := `R=` + roamBin + `
$R var get -item secret nomad/jobs/wi-app > "$NOMAD_ALLOC_DIR/own.out" 2>&1; echo " exit=$?" >> "$NOMAD_ALLOC_DIR/own.out"
$R var get -item secret nomad/jobs/wi-other > "$NOMAD_ALLOC_DIR/other.out" 2>&1; echo " exit=$?" >> "$NOMAD_ALLOC_DIR/other.out"
touch "$NOMAD_ALLOC_DIR/done"
exec sleep 600`
	job := shellJob("wi-app", "service", 1, script)
	task := job.TaskGroups[0].Tasks[0]
	task.Env = map[string]string{"NOMAD_ADDR": a.addr}
	task.Identity = &api.WorkloadIdentity{Env: true, File: true}
	if _, _, err := mgmt.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	var alloc *api.Allocation
	waitUntil(t, 60*time.Second, "the task's checks to finish", func() bool {
		for _, stub := range a.allocsOf(t, "wi-app") {
			if stub.ClientStatus == "running" {
				alloc, _, _ = mgmt.Allocations().Info(stub.ID, nil)
				_, err := os.Stat(filepath.Join(allocRoot, stub.ID, "alloc", "done"))
				return err == nil
			}
		}
		return false
	})
	cat := func(name string) string {
		out, err := os.ReadFile(filepath.Join(allocRoot, alloc.ID, "alloc", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if got := cat("own.out"); !strings.HasPrefix(got, "mine") || !strings.Contains(got, "exit=0") {
		t.Errorf("the task reading its own variable with NOMAD_TOKEN: %q", got)
	}
	if got := cat("other.out"); !strings.Contains(got, "403") || !strings.Contains(got, "exit=1") || strings.Contains(got, "theirs") {
		t.Errorf("the task reading another job's variable: %q", got)
	}

	raw, err := os.ReadFile(filepath.Join(allocRoot, alloc.ID, "main", "secrets", "nomad_token"))
	if err != nil {
		t.Fatalf("secrets/nomad_token: %v", err)
	}
	token := string(raw)
	wi := a.tokenClient(t, token)

	t.Run("its own variables and nothing else", func(t *testing.T) {
		v, _, err := wi.Variables().Read("nomad/jobs/wi-app", nil)
		if err != nil || v.Items["secret"] != "mine" {
			t.Fatalf("own variable: %+v, %v", v, err)
		}
		_, _, err = wi.Variables().Read("nomad/jobs/wi-other", nil)
		wantDenied(t, "another job's variable", err, "Permission denied")
		_, _, err = wi.Variables().Create(&api.Variable{Path: "nomad/jobs/wi-app", Items: api.VariableItems{"x": "y"}}, nil)
		wantDenied(t, "writing its own variable", err, "Permission denied")
		_, _, err = wi.Jobs().Register(shellJob("wi-spawned", "batch", 1, "true"), nil)
		wantDenied(t, "registering a job", err, "Permission denied")
		if _, _, err := mgmt.Jobs().Info("wi-spawned", nil); err == nil {
			t.Fatal("the refused registration stored a job")
		}
		self, _, err := wi.ACLTokens().Self(nil)
		if err != nil || self.Name != "global:default:wi-app:app:main:default" {
			t.Fatalf("token self: %+v, %v", self, err)
		}
	})

	t.Run("verifies against the published key set", func(t *testing.T) {
		resp, err := http.Get(a.addr + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		keys := set.Key(parsed.Headers[0].KeyID)
		if len(keys) != 1 {
			t.Fatalf("kid %q not in the key set %+v", parsed.Headers[0].KeyID, set)
		}
		var claims map[string]any
		if err := parsed.Claims(keys[0].Key.(*rsa.PublicKey), &claims); err != nil {
			t.Fatalf("signature against the published key: %v", err)
		}
		for claim, want := range map[string]any{"nomad_namespace": "default", "nomad_job_id": "wi-app", "nomad_task": "main",
			"nomad_allocation_id": alloc.ID, "sub": "global:default:wi-app:app:main:default", "aud": "nomad.io"} {
			if claims[claim] != want {
				t.Errorf("claim %s = %v, want %v", claim, claims[claim], want)
			}
		}
	})

	t.Run("still valid after a keyring rotation", func(t *testing.T) {
		if out, code := a.roamWithToken(t, boot.SecretID, "operator", "root", "keyring", "rotate"); code != 0 || !strings.Contains(out, "active") {
			t.Fatalf("rotate: %d %s", code, out)
		}
		if out, code := a.roamWithToken(t, boot.SecretID, "operator", "root", "keyring", "list"); code != 0 || strings.Count(out, "inactive") != 1 {
			t.Fatalf("keyring list after rotation: %d %s", code, out)
		}
		if _, _, err := wi.Variables().Read("nomad/jobs/wi-app", nil); err != nil {
			t.Fatalf("identity signed with the old key: %v", err)
		}
	})

	t.Run("a policy attached to the job extends it", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "extra.hcl")
		rules := "namespace \"default\" {\n  variables {\n    path \"nomad/jobs/wi-other\" {\n      capabilities = [\"read\"]\n    }\n  }\n}\n"
		if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := a.roamWithToken(t, boot.SecretID, "acl", "policy", "apply", "-namespace", "default", "-job", "wi-app", "wi-extra", file); code != 0 {
			t.Fatalf("acl policy apply -job: %d %s", code, out)
		}
		if out, _ := a.roamWithToken(t, boot.SecretID, "acl", "policy", "info", "wi-extra"); !strings.Contains(out, "Associated Workload") || !strings.Contains(out, "wi-app") {
			t.Errorf("policy info: %s", out)
		}
		v, _, err := wi.Variables().Read("nomad/jobs/wi-other", nil)
		if err != nil || v.Items["secret"] != "theirs" {
			t.Fatalf("variable the attached policy grants: %+v, %v", v, err)
		}
		_, _, err = wi.Jobs().Register(shellJob("wi-spawned", "batch", 1, "true"), nil)
		wantDenied(t, "registering a job with the attached policy", err, "Permission denied")
		if held, _, err := wi.ACLPolicies().Self(nil); err != nil || len(held) != 1 || held[0].Name != "wi-extra" || held[0].JobACL.JobID != "wi-app" {
			t.Errorf("policy self: %+v, %v", held, err)
		}
		if out, code := a.roamWithToken(t, token, "acl", "policy", "self"); code != 0 || !strings.Contains(out, "wi-extra") {
			t.Errorf("roam acl policy self with the identity: %d %s", code, out)
		}
	})

	t.Run("refused once its allocation stops", func(t *testing.T) {
		if _, _, err := mgmt.Jobs().Deregister("wi-app", false, nil); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "the identity to be refused", func() bool {
			_, _, err := wi.Variables().Read("nomad/jobs/wi-app", nil)
			return err != nil && strings.Contains(err.Error(), "403")
		})
	})
}

// roamWithToken runs the CLI against the agent with NOMAD_TOKEN set.
func (a *devAgent) roamWithToken(t *testing.T, token string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(roamBin, args...)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+a.addr, "NOMAD_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if exitErr, ok := err.(*exec.ExitError); ok {
		return string(out), exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run roam %v: %v", args, err)
	}
	return string(out), 0
}
