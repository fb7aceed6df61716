// Package allocdir lays out an allocation's directory on the client, as
// Nomad does: a shared alloc/ (data, tmp, logs) and one directory per task
// (local, secrets, tmp).
package allocdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Names inside an allocation directory.
const (
	SharedAllocName = "alloc"
	SharedDataDir   = "data"
	TmpDirName      = "tmp"
	LogDirName      = "logs"
	TaskLocal       = "local"
	TaskSecrets     = "secrets"
)

// ErrEscapes is returned for a path that leaves the allocation directory.
var ErrEscapes = errors.New("path escapes the allocation directory")

// AllocDir is one allocation's directory.
type AllocDir struct {
	// Dir is <alloc_dir>/<alloc ID>.
	Dir string
}

// New returns the directory of allocID under root (the client's alloc_dir).
func New(root, allocID string) *AllocDir {
	return &AllocDir{Dir: filepath.Join(root, allocID)}
}

// SharedDir is alloc/, shared by the group's tasks.
func (a *AllocDir) SharedDir() string { return filepath.Join(a.Dir, SharedAllocName) }

// LogDir is alloc/logs.
func (a *AllocDir) LogDir() string { return filepath.Join(a.SharedDir(), LogDirName) }

// LogBase is the base name of a task's log files: alloc/logs/<task>.<kind>,
// to which rotation appends ".N"; kind is "stdout" or "stderr".
func (a *AllocDir) LogBase(task, kind string) string {
	return filepath.Join(a.LogDir(), task+"."+kind)
}

// Build creates the shared directories.
func (a *AllocDir) Build() error {
	if err := os.MkdirAll(a.Dir, 0o755); err != nil {
		return fmt.Errorf("create alloc dir: %w", err)
	}
	for _, d := range []string{SharedDataDir, TmpDirName, LogDirName} {
		if err := mkdirShared(filepath.Join(a.SharedDir(), d)); err != nil {
			return err
		}
	}
	return nil
}

// Destroy removes the whole allocation directory.
func (a *AllocDir) Destroy() error {
	if err := os.RemoveAll(a.Dir); err != nil {
		return fmt.Errorf("remove alloc dir: %w", err)
	}
	return nil
}

// TaskDir is one task's directory inside an allocation.
type TaskDir struct {
	Dir        string
	LocalDir   string
	SecretsDir string
	TmpDir     string
}

// TaskDir returns the layout of the named task's directory.
func (a *AllocDir) TaskDir(task string) *TaskDir {
	dir := filepath.Join(a.Dir, task)
	return &TaskDir{
		Dir:        dir,
		LocalDir:   filepath.Join(dir, TaskLocal),
		SecretsDir: filepath.Join(dir, TaskSecrets),
		TmpDir:     filepath.Join(dir, TmpDirName),
	}
}

// Build creates the task directory and its local, secrets and tmp.
func (t *TaskDir) Build() error {
	if err := mkdirShared(t.Dir); err != nil {
		return err
	}
	for _, d := range []string{t.LocalDir, t.TmpDir} {
		if err := mkdirShared(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(t.SecretsDir, 0o777); err != nil {
		return fmt.Errorf("create secrets dir: %w", err)
	}
	return nil
}

// mkdirShared creates dir writable by any user the task may run as.
func mkdirShared(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}

// Resolve turns a path relative to the allocation directory (as the fs API
// takes it: "alloc/logs", "/web/local") into an absolute path inside it.
func (a *AllocDir) Resolve(rel string) (string, error) {
	p := filepath.Join(a.Dir, filepath.Clean("/"+rel))
	if p != a.Dir && !strings.HasPrefix(p, a.Dir+string(filepath.Separator)) {
		return "", ErrEscapes
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return p, nil // missing paths are reported by the caller's stat
	}
	base, err := filepath.EvalSymlinks(a.Dir)
	if err == nil && real != base && !strings.HasPrefix(real, base+string(filepath.Separator)) {
		return "", ErrEscapes
	}
	return p, nil
}
