// Package executor supervises one task outside the client process. The
// client launches the roam binary again in the "roam-executor" role, in its
// own session, so the task survives a client restart; the executor starts the
// task in its own process group, writes its output into rotated log files and
// records its exit status in a file that any later client can read.
package executor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Role is the reexec role name of the executor process.
const Role = "roam-executor"

// Files the executor keeps in its state directory.
const (
	specFile = "spec.json"
	exitFile = "exit.json"
	logFile  = "executor.log"
)

// Spec is everything the executor needs to start and supervise a task.
type Spec struct {
	// Command is an absolute path; Args follow it.
	Command string
	Args    []string
	// Env is the task's environment as KEY=VALUE pairs.
	Env []string
	// Dir is the working directory.
	Dir string
	// User runs the task as this user; honoured only when the executor runs
	// as root.
	User string
	// StdoutPath and StderrPath are the rotated log files' base names.
	StdoutPath, StderrPath string
	// LogMaxFiles and LogMaxFileSizeMB bound the rotated files.
	LogMaxFiles, LogMaxFileSizeMB int
	// StateDir holds the spec, the exit record and the executor's own log.
	StateDir string
	// NetNS is the network namespace (a path) the executor and its task
	// run in; "" is the agent's.
	NetNS string
}

// Handle identifies a launched executor and its task; it is what a client
// persists to re-attach later.
type Handle struct {
	ExecutorPID int
	// ExecutorStartTicks is the executor's start time from /proc, which
	// guards against a recycled PID.
	ExecutorStartTicks uint64
	TaskPID            int
	StateDir           string
}

// exitRecord is the task's exit as the executor writes it.
type exitRecord struct {
	ExitCode int
	Signal   int
	Err      string `json:",omitempty"`
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(path), err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}
