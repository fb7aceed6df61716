package taskrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/structs"
)

// IdentitySigner signs a task's workload identities: the servers.
type IdentitySigner interface {
	SignIdentities(args *structs.AllocSignIdentitiesArgs) ([]*structs.SignedIdentity, error)
}

// identityHook fetches the task's signed workload identities before each
// start and writes those with `file = true` into its secrets directory;
// the env hook puts those with `env = true` into its environment.
type identityHook struct{}

func (identityHook) Name() string { return "identity" }

func (identityHook) Prestart(tr *TaskRunner, _ *drivers.TaskConfig) error {
	if tr.cfg.Identities == nil {
		return nil
	}
	tr.mu.Lock()
	allocID := tr.alloc.ID
	tr.mu.Unlock()
	err := tr.signIdentities(allocID)
	if err != nil && !needsIdentity(tr.cfg.Task) {
		// Nothing in the task reads it: a server that cannot sign (or an
		// older one) does not keep it from starting.
		tr.logger.Warn("task starts without its workload identity", "error", err)
		return nil
	}
	return err
}

// needsIdentity reports whether a task reads its identities: one is put in
// its environment or a file, or it has templates (which read the cluster's
// variables and services with it).
func needsIdentity(task *api.Task) bool {
	if len(task.Templates) > 0 {
		return true
	}
	for _, wid := range identity.TaskIdentities(task) {
		if wid.Env || wid.File {
			return true
		}
	}
	return false
}

// signIdentities fetches the task's identities and writes the files.
func (tr *TaskRunner) signIdentities(allocID string) error {
	task := tr.cfg.Task
	signedAt := time.Now()
	signed, err := tr.cfg.Identities.SignIdentities(&structs.AllocSignIdentitiesArgs{AllocID: allocID, TaskName: task.Name})
	if err != nil {
		return fmt.Errorf("sign workload identities: %w", err)
	}
	ids := make(map[string]string, len(signed))
	for _, s := range signed {
		ids[s.IdentityName] = s.JWT
	}
	tr.mu.Lock()
	tr.identities, tr.identitiesSigned = ids, signedAt
	tr.mu.Unlock()
	var root *os.Root
	for _, wid := range identity.TaskIdentities(task) {
		name := identity.Name(wid)
		if !wid.File || ids[name] == "" {
			continue
		}
		if root == nil {
			// The task owns its directory and may have left links in it:
			// every write stays inside.
			if root, err = os.OpenRoot(tr.cfg.AllocDir.TaskDir(task.Name).Dir); err != nil {
				return fmt.Errorf("write identity %q: %w", name, err)
			}
			defer root.Close()
		}
		path := filepath.Join(allocdir.TaskSecrets, tokenFile(name))
		if wid.Filepath != "" {
			path = strings.TrimPrefix(filepath.Clean("/"+wid.Filepath), "/")
		}
		if err := writeToken(root, path, ids[name]); err != nil {
			return fmt.Errorf("write identity %q: %w", name, err)
		}
	}
	return nil
}

// writeToken replaces the file at path in root with token: written beside
// it and renamed over it, so that a reader never sees half a token and a
// link the task put there is replaced, not followed.
func writeToken(root *os.Root, path, token string) error {
	if err := root.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return allocdir.Escapes(err)
	}
	tmp := path + ".tmp"
	_ = root.Remove(tmp)
	if err := root.WriteFile(tmp, []byte(token), 0o644); err != nil {
		return allocdir.Escapes(err)
	}
	return allocdir.Escapes(root.Rename(tmp, path))
}

// tokenFile is where an identity is written in secrets/, as Nomad names
// them: nomad_token for the default one, nomad_<name>.jwt for others.
func tokenFile(name string) string {
	if name == identity.DefaultName {
		return "nomad_token"
	}
	return "nomad_" + name + ".jwt"
}

// identityEnv adds the identities with `env = true` to env: NOMAD_TOKEN
// for the default one, NOMAD_TOKEN_<name> for others.
func (tr *TaskRunner) identityEnv(env map[string]string) {
	tr.mu.Lock()
	ids := tr.identities
	tr.mu.Unlock()
	for _, wid := range identity.TaskIdentities(tr.cfg.Task) {
		name := identity.Name(wid)
		if !wid.Env || ids[name] == "" {
			continue
		}
		key := "NOMAD_TOKEN"
		if name != identity.DefaultName {
			key = "NOMAD_TOKEN_" + strings.ReplaceAll(name, "-", "_")
		}
		env[key] = ids[name]
	}
}
