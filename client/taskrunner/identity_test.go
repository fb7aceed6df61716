package taskrunner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/drivers/rawexec"
	"github.com/roam-project/roam/structs"
)

// failingSigner cannot sign.
type failingSigner struct{}

func (failingSigner) SignIdentities(*structs.AllocSignIdentitiesArgs) ([]*structs.SignedIdentity, error) {
	return nil, errors.New("no server reachable")
}

// countingSigner hands out "tok-1", "tok-2", ... for the default identity.
type countingSigner struct {
	mu sync.Mutex
	n  int
}

func (s *countingSigner) SignIdentities(args *structs.AllocSignIdentitiesArgs) ([]*structs.SignedIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return []*structs.SignedIdentity{{IdentityName: "default", JWT: fmt.Sprintf("tok-%d", s.n)}, {IdentityName: "vault", JWT: fmt.Sprintf("vault-%d", s.n)}}, nil
}

// TestIdentityHook runs raw_exec tasks with identities: env and file
// tokens, named identities' names, and renewal of ttl'd ones with their
// change_mode.
func TestIdentityHook(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		identity *api.WorkloadIdentity
		named    []*api.WorkloadIdentity
		// script runs in the task; check looks at the task and alloc dirs.
		script string
		check  func(t *testing.T, taskDir, allocDir string) bool
		// signer, when set, replaces the counting one.
		signer IdentitySigner
	}{
		{name: "env and file", identity: &api.WorkloadIdentity{Env: true, File: true},
			named:  []*api.WorkloadIdentity{{Name: "vault", Env: true, File: true}},
			script: `echo "$NOMAD_TOKEN $NOMAD_TOKEN_vault" > "$NOMAD_ALLOC_DIR/env"; sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				env, _ := os.ReadFile(filepath.Join(allocDir, "env"))
				file, _ := os.ReadFile(filepath.Join(taskDir, "secrets", "nomad_token"))
				named, _ := os.ReadFile(filepath.Join(taskDir, "secrets", "nomad_vault.jwt"))
				return strings.TrimSpace(string(env)) == "tok-1 vault-1" && string(file) == "tok-1" && string(named) == "vault-1"
			}},
		{name: "neither env nor file", identity: nil,
			script: `echo "[$NOMAD_TOKEN]" > "$NOMAD_ALLOC_DIR/env"; sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				env, _ := os.ReadFile(filepath.Join(allocDir, "env"))
				_, err := os.Stat(filepath.Join(taskDir, "secrets", "nomad_token"))
				return strings.TrimSpace(string(env)) == "[]" && os.IsNotExist(err)
			}},
		{name: "a task that reads no identity starts without one", signer: failingSigner{},
			script: `touch "$NOMAD_ALLOC_DIR/started"; sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				_, err := os.Stat(filepath.Join(allocDir, "started"))
				return err == nil
			}},
		{name: "a task that reads its identity does not start without it", signer: failingSigner{}, identity: &api.WorkloadIdentity{Env: true},
			script: `touch "$NOMAD_ALLOC_DIR/started"; sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				_, err := os.Stat(filepath.Join(allocDir, "started"))
				if err == nil {
					t.Fatal("the task started without the identity it reads")
				}
				return true
			}},
		{name: "ttl renewal rewrites the file", identity: &api.WorkloadIdentity{File: true, TTL: 400 * time.Millisecond},
			script: `sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				file, _ := os.ReadFile(filepath.Join(taskDir, "secrets", "nomad_token"))
				return string(file) == "tok-3"
			}},
		{name: "renewal replaces a link the task put in its place", identity: &api.WorkloadIdentity{File: true, TTL: 400 * time.Millisecond},
			script: `ln -sf "$OUTSIDE" secrets/nomad_token; touch "$NOMAD_ALLOC_DIR/linked"; sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				if _, err := os.Stat(filepath.Join(allocDir, "linked")); err != nil {
					return false
				}
				if out, _ := os.ReadFile(outside); string(out) != "untouched" {
					t.Fatalf("the client wrote through the task's link: %q", out)
				}
				fi, err := os.Lstat(filepath.Join(taskDir, "secrets", "nomad_token"))
				return err == nil && fi.Mode().IsRegular()
			}},
		{name: "ttl renewal with change_mode restart", identity: &api.WorkloadIdentity{File: true, TTL: 400 * time.Millisecond, ChangeMode: "restart"},
			script: `cat secrets/nomad_token >> "$NOMAD_ALLOC_DIR/starts"; echo >> "$NOMAD_ALLOC_DIR/starts"; sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				starts, _ := os.ReadFile(filepath.Join(allocDir, "starts"))
				return strings.Count(string(starts), "tok-") >= 2
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := rawexec.New()
			if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
				t.Fatal(err)
			}
			alloc := &api.Allocation{ID: "8d2b5a7e-0000-0000-0000-000000000001", TaskGroup: "g", Job: &api.Job{ID: new("j"), Type: new("service")}}
			task := &api.Task{Name: "t", Driver: "raw_exec", Identity: tc.identity, Identities: tc.named, Env: map[string]string{"OUTSIDE": outside},
				Config: map[string]any{"command": "/bin/sh", "args": []any{"-c", tc.script}}}
			// Not t.TempDir: the killed task's detached executor may still
			// be writing its state when the test ends.
			root, err := os.MkdirTemp("", "identity-hook-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.RemoveAll(root) })
			ad := allocdir.New(root, alloc.ID)
			if err := ad.Build(); err != nil {
				t.Fatal(err)
			}
			var signer IdentitySigner = &countingSigner{}
			if tc.signer != nil {
				signer = tc.signer
			}
			tr := New(Config{Alloc: alloc, Task: task, Driver: d, AllocDir: ad, Identities: signer})
			go tr.Run()
			t.Cleanup(func() {
				_ = tr.Kill(t.Context(), nil)
			})
			if tc.signer != nil && tc.identity != nil {
				// Give the refused start its chance to run the task.
				waitForEvent(t, tr, api.TaskSetupFailure)
			}
			deadline := time.Now().Add(15 * time.Second)
			for !tc.check(t, ad.TaskDir("t").Dir, filepath.Join(ad.Dir, "alloc")) {
				if time.Now().After(deadline) {
					t.Fatalf("condition never held; state %+v", tr.State())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if tc.identity != nil && tc.signer == nil && tr.identityToken() == "" {
				t.Error("the task has no identity token while it runs")
			}
		})
	}
}

// waitForEvent waits until the task has an event of type typ.
func waitForEvent(t *testing.T, tr *TaskRunner, typ string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !tr.hasEvent(typ) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q event; state %+v", typ, tr.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
