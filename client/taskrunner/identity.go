package taskrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	task := tr.cfg.Task
	signed, err := tr.cfg.Identities.SignIdentities(&structs.AllocSignIdentitiesArgs{AllocID: allocID, TaskName: task.Name})
	if err != nil {
		return fmt.Errorf("sign workload identities: %w", err)
	}
	ids := make(map[string]string, len(signed))
	for _, s := range signed {
		ids[s.IdentityName] = s.JWT
	}
	tr.mu.Lock()
	tr.identities = ids
	tr.mu.Unlock()
	td := tr.cfg.AllocDir.TaskDir(task.Name)
	for _, wid := range identity.TaskIdentities(task) {
		name := identity.Name(wid)
		if !wid.File || ids[name] == "" {
			continue
		}
		path := filepath.Join(td.SecretsDir, tokenFile(name))
		if wid.Filepath != "" {
			path = filepath.Join(td.Dir, filepath.Clean("/"+wid.Filepath))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write identity %q: %w", name, err)
		}
		if err := os.WriteFile(path, []byte(ids[name]), 0o644); err != nil {
			return fmt.Errorf("write identity %q: %w", name, err)
		}
	}
	return nil
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

// IdentityToken is the task's default workload identity (a JWT, usable as
// an X-Nomad-Token), "" before the task's first start or when its
// servers gave it none.
func (tr *TaskRunner) IdentityToken() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.identities[identity.DefaultName]
}
