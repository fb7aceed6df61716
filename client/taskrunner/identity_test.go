package taskrunner

import (
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
	cases := []struct {
		name     string
		identity *api.WorkloadIdentity
		named    []*api.WorkloadIdentity
		// script runs in the task; check looks at the task and alloc dirs.
		script string
		check  func(t *testing.T, taskDir, allocDir string) bool
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
		{name: "ttl renewal rewrites the file", identity: &api.WorkloadIdentity{File: true, TTL: 400 * time.Millisecond},
			script: `sleep 30`,
			check: func(t *testing.T, taskDir, allocDir string) bool {
				file, _ := os.ReadFile(filepath.Join(taskDir, "secrets", "nomad_token"))
				return string(file) == "tok-3"
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
			task := &api.Task{Name: "t", Driver: "raw_exec", Identity: tc.identity, Identities: tc.named,
				Config: map[string]any{"command": "/bin/sh", "args": []any{"-c", tc.script}}}
			ad := allocdir.New(t.TempDir(), alloc.ID)
			if err := ad.Build(); err != nil {
				t.Fatal(err)
			}
			tr := New(Config{Alloc: alloc, Task: task, Driver: d, AllocDir: ad, Identities: &countingSigner{}})
			go tr.Run()
			t.Cleanup(func() {
				_ = tr.Kill(t.Context(), nil)
			})
			deadline := time.Now().Add(15 * time.Second)
			for !tc.check(t, ad.TaskDir("t").Dir, filepath.Join(ad.Dir, "alloc")) {
				if time.Now().After(deadline) {
					t.Fatalf("condition never held; state %+v", tr.State())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if tc.identity != nil && tr.IdentityToken() == "" {
				t.Error("IdentityToken is empty while the task runs")
			}
		})
	}
}
