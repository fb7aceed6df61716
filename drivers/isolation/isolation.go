// Package isolation runs a task under a detached supervisor process, in its
// own PID, mount, IPC and UTS namespaces, chrooted into its task directory,
// as an unprivileged user and under cgroup limits. The exec and java drivers
// run every task this way; qemu uses the same supervisor without the chroot.
//
// Three processes take part. The driver (in the client) creates the task's
// cgroup and starts the supervisor, the roam binary re-executed in role
// "roam-isolate" in its own session, so that the task outlives a client
// restart. The supervisor copies the task's output into rotated log files,
// starts the task's first process (role "roam-isolate-init") in new
// namespaces, places it in the cgroup, waits for it and records how it
// ended in its state directory. The init process builds the chroot, limits
// its capabilities, drops to the task's user and execs the task's command,
// which so becomes PID 1 of its namespace. ExecTask runs a command in a
// running task through a third role, "roam-isolate-exec", which joins the
// task's cgroup, namespaces and root before it forks the command.
package isolation

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/internal/reexec"
)

// Role names under which the roam binary re-executes itself.
const (
	supervisorRole = "roam-isolate"
	initRole       = "roam-isolate-init"
	execRole       = "roam-isolate-exec"
)

func init() {
	reexec.Register(supervisorRole, runSupervisor)
	reexec.Register(initRole, runInit)
	reexec.Register(execRole, runExecHelper)
}

// DefaultChrootEnv is Nomad's default `chroot_env`: host paths bound
// read-only into the task's chroot at the same place.
var DefaultChrootEnv = map[string]string{
	"/bin":            "/bin",
	"/etc":            "/etc",
	"/lib":            "/lib",
	"/lib32":          "/lib32",
	"/lib64":          "/lib64",
	"/run/resolvconf": "/run/resolvconf",
	"/sbin":           "/sbin",
	"/usr":            "/usr",
}

// Spec describes one task to launch.
type Spec struct {
	// TaskID is the client's task ID (alloc ID + "/" + task name).
	TaskID string
	// Command is the program; a name without a slash is looked up in the
	// PATH of Env, inside the chroot when Chroot is set.
	Command string
	Args    []string
	// Env holds KEY=VALUE pairs.
	Env []string
	// User runs the task; empty keeps root.
	User string
	// Chroot isolates the task in namespaces and a chroot of its TaskDir;
	// without it the task runs on the host, in TaskDir.
	Chroot bool
	// NoPivotRoot enters the task's root with chroot instead of pivot_root.
	NoPivotRoot bool
	// HostPID and HostIPC keep the host's PID or IPC namespace (pid_mode
	// and ipc_mode "host"); only meaningful with Chroot.
	HostPID, HostIPC bool
	// Capabilities bound what a chrooted task (and what it execs) may hold.
	Capabilities []string
	// WorkDir is the working directory (inside the chroot when Chroot).
	WorkDir string
	// ChrootEnv maps host paths to paths inside the chroot; nil means
	// DefaultChrootEnv.
	ChrootEnv map[string]string
	// TaskDir is the task's directory (local/, secrets/, tmp/); AllocDir is
	// the alloc's shared directory, mounted at /alloc.
	TaskDir, AllocDir string
	// Limits are the task's cgroup limits.
	Limits Limits
	// Mounts are the task's host volumes, bound inside its root (Chroot).
	Mounts []drivers.Mount
	// DeviceNodes are bound into its /dev (Chroot); a chrooted task's
	// cgroup allows them and the usual few, and denies other devices.
	DeviceNodes []drivers.DeviceNode
	// StdoutPath and StderrPath are the rotated log files' base names.
	StdoutPath, StderrPath        string
	LogMaxFiles, LogMaxFileSizeMB int
	// NetNS is the allocation's network namespace (a path) the task runs
	// in; "" is the host's. Hostname and ResolvConf (a file bound over
	// /etc/resolv.conf) apply with Chroot.
	NetNS, Hostname, ResolvConf string
}

// exitRecord is how the supervisor reports a finished task (exit.json).
type exitRecord struct {
	ExitCode  int    `json:"exit_code"`
	Signal    int    `json:"signal"`
	OOMKilled bool   `json:"oom_killed"`
	Err       string `json:"error,omitempty"`
}

// startReport is the supervisor's first and only message on its report pipe.
type startReport struct {
	PID int    `json:"pid"`
	Err string `json:"error,omitempty"`
}

// Files in a task's state directory.
const (
	specFile       = "spec.json"
	cgroupFile     = "cgroup"
	exitFile       = "exit.json"
	supervisorLog  = "supervisor.log"
	stateDirPerm   = 0o700
	stateFilePerms = 0o600
)

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, stateFilePerms); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
