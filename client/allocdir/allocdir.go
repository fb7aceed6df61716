// Package allocdir lays out an allocation's directory on the client, as
// Nomad does: a shared alloc/ (data, tmp, logs) and one directory per task
// (local, secrets, tmp).
package allocdir

import (
	"errors"
	"fmt"
	"os"
	"path"
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

// OpenRoot opens the allocation directory as an os.Root. Whatever is
// opened through it stays beneath the directory: each step of a path is
// resolved from the directory's descriptor, so no symlink, absolute or
// leading out, and however it changes meanwhile, reaches a file outside.
func (a *AllocDir) OpenRoot() (*os.Root, error) {
	return os.OpenRoot(a.Dir)
}

// RootName turns a path relative to the allocation directory, as the fs
// API takes it ("alloc/logs", "/web/local", "../x" clamped to "x"), into a
// name for the Root of OpenRoot: "." is the directory itself.
func RootName(rel string) (string, error) {
	if strings.ContainsRune(rel, 0) {
		return "", ErrInvalidPath
	}
	name := strings.TrimPrefix(path.Clean("/"+rel), "/")
	if name == "" {
		return ".", nil
	}
	return name, nil
}

// ErrInvalidPath is returned for a path no file can have (a NUL byte).
var ErrInvalidPath = errors.New("path contains a NUL byte")

// Escapes turns a Root's refusal of a path that leads outside it into
// ErrEscapes; other errors are returned as they are.
func Escapes(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok && pe.Err.Error() == "path escapes from parent" {
		return fmt.Errorf("%w: %s", ErrEscapes, pe.Path)
	}
	return err
}
