// Package drivers defines the task driver plugin interface that the client
// uses to run tasks, and the types that cross it. Each driver lives in a
// sub-package (rawexec, exec, docker, java, qemu, mock).
package drivers

import (
	"context"
	"errors"
	"time"
)

// ErrTaskNotFound is returned for a task ID the driver does not know.
var ErrTaskNotFound = errors.New("task not found")

// Driver runs tasks of one kind. Implementations must be safe for concurrent
// use; task IDs are unique per client (alloc ID + "/" + task name).
type Driver interface {
	// Name is the driver's name as jobs spell it ("raw_exec", "docker").
	Name() string
	// SetConfig applies the agent's `plugin "NAME" { config {} }` block,
	// decoded to generic values. Unknown keys are an error.
	SetConfig(config map[string]any) error
	// Fingerprint reports whether the driver can run tasks on this machine.
	Fingerprint(ctx context.Context) *Fingerprint
	// ValidateConfig checks a task's `config` block against the driver's
	// schema; an unknown or mistyped key is an error naming the key.
	ValidateConfig(config map[string]any) error
	// StartTask starts a task and returns a handle that can re-attach to it.
	StartTask(cfg *TaskConfig) (*TaskHandle, error)
	// RecoverTask re-attaches to a task started by an earlier client process.
	RecoverTask(handle *TaskHandle) error
	// WaitTask returns a channel that yields the task's exit once.
	WaitTask(ctx context.Context, taskID string) (<-chan *ExitResult, error)
	// StopTask sends signal (the driver's default when empty), waits up to
	// timeout, then kills the task.
	StopTask(taskID string, timeout time.Duration, signal string) error
	// DestroyTask releases everything the task holds; force kills it first.
	DestroyTask(taskID string, force bool) error
	// SignalTask delivers a signal by name ("SIGHUP").
	SignalTask(taskID string, signal string) error
	// ExecTask runs cmd inside the task's environment and streams its I/O.
	ExecTask(ctx context.Context, taskID string, cmd []string, tty bool, streams ExecStreams) (exitCode int, err error)
	// TaskStats samples the task's resource usage.
	TaskStats(ctx context.Context, taskID string) (*TaskStats, error)
}

// Fingerprint is a driver's health and attributes on this node.
type Fingerprint struct {
	Detected          bool
	Healthy           bool
	HealthDescription string
	// Attributes are reported on the node as "driver.<name>.<key>"; the
	// key "" is reported as "driver.<name>" (e.g. "1").
	Attributes map[string]string
}

// TaskConfig is everything a driver needs to start one task.
type TaskConfig struct {
	ID        string // alloc ID + "/" + task name
	AllocID   string
	TaskName  string
	JobName   string
	GroupName string
	// Config is the task's driver `config` block, already interpolated.
	Config map[string]any
	Env    map[string]string
	User   string
	// Resources the scheduler allocated to the task.
	Resources Resources
	// AllocDir is the allocation's root directory (its shared directory
	// is AllocDir/alloc); TaskDir is the task's own directory holding
	// local/ and secrets/.
	AllocDir string
	TaskDir  string
	// StdoutPath and StderrPath are the log files' base names, e.g.
	// "<alloc>/alloc/logs/web.stdout"; rotation appends ".N".
	StdoutPath string
	StderrPath string
	// LogMaxFiles and LogMaxFileSizeMB are the task's `logs` block.
	LogMaxFiles      int
	LogMaxFileSizeMB int
	// KillSignal is the task's kill_signal, used when StopTask names none.
	KillSignal string
	// Network is the allocation's network namespace, shared by its tasks;
	// nil runs the task in the host's network.
	Network *NetworkIsolation
	// Mounts are host paths bound into the task: its host volumes, and
	// what its devices need.
	Mounts []Mount
	// DeviceNodes are the host device nodes the task may open (its GPUs);
	// isolating drivers deny the others.
	DeviceNodes []DeviceNode
}

// NetworkIsolation is an allocation's network namespace as tasks join it.
type NetworkIsolation struct {
	// Path is the namespace's path (/var/run/netns/..., /proc/PID/ns/net).
	Path string
	// Hostname is the group's `network { hostname }`; "" keeps the default.
	Hostname string
	// ResolvConf is a resolv.conf file for the tasks; "" keeps the host's.
	ResolvConf string
	// Labels hold driver facts about the namespace, such as the pause
	// container that holds it (SandboxContainerLabel).
	Labels map[string]string
}

// SandboxContainerLabel names the docker container that holds an
// allocation's network namespace, for docker tasks to join.
const SandboxContainerLabel = "docker_sandbox_container_id"

// NetworkCreator is implemented by drivers that must create an
// allocation's network namespace themselves (docker: a pause container
// whose namespace the other tasks join). Both calls are idempotent.
type NetworkCreator interface {
	CreateNetwork(allocID string, spec NetworkSpec) (*NetworkIsolation, error)
	DestroyNetwork(allocID string) error
}

// NetworkSpec is what a NetworkCreator needs to know of the group's network.
type NetworkSpec struct {
	Hostname                string
	DNSServers, DNSSearches []string
	DNSOptions              []string
}

// Mount is a host path bound into a task at TaskPath.
type Mount struct {
	HostPath, TaskPath string
	ReadOnly           bool
	// PropagationMode is the volume_mount's: "private" (the default),
	// "host-to-task" or "bidirectional".
	PropagationMode string
}

// DeviceNode is a host device node a task may open.
type DeviceNode struct {
	HostPath, TaskPath string
	// Permissions is a cgroup access string: a combination of r, w, m.
	Permissions string
}

// Device is a group of device instances the scheduler gave the task.
type Device struct {
	Vendor, Type, Name string
	IDs                []string
}

// Resources are the task's allocated resources as the driver sees them.
type Resources struct {
	CPUShares     int64
	ReservedCores []uint16
	MemoryMB      int64
	MemoryMaxMB   int64
	DiskMB        int64
	// Ports maps a port label to its host value and in-task value.
	Ports []Port
	// Devices are the device instances allocated to the task.
	Devices []Device
}

// Port is one allocated port of the task's group network.
type Port struct {
	Label  string
	Value  int
	To     int
	HostIP string
}

// TaskHandle is what the client persists to re-attach to a running task.
type TaskHandle struct {
	Driver    string
	Config    *TaskConfig
	StartedAt time.Time
	// State is driver-private re-attach data (a PID, a container ID), JSON.
	State []byte
}

// ExitResult is how a task ended.
type ExitResult struct {
	ExitCode  int
	Signal    int
	OOMKilled bool
	Err       error
}

// Successful reports whether the task exited zero, unsignalled, unkilled.
func (r *ExitResult) Successful() bool {
	return r.ExitCode == 0 && r.Signal == 0 && !r.OOMKilled && r.Err == nil
}

// TaskStats is one sample of a task's resource usage.
type TaskStats struct {
	Timestamp      time.Time
	CPUPercent     float64
	CPUTotalTicks  float64
	CPUUserMode    float64
	CPUSystemMode  float64
	MemoryRSS      uint64
	MemoryCache    uint64
	MemoryUsage    uint64
	MemoryMaxUsage uint64
	PIDs           []int
}

// ExecStreams are the I/O of an exec session; Stdin may be nil.
type ExecStreams struct {
	Stdin  interface{ Read([]byte) (int, error) }
	Stdout interface{ Write([]byte) (int, error) }
	Stderr interface{ Write([]byte) (int, error) }
	// Resize delivers terminal sizes when tty is true; may be nil.
	Resize <-chan TerminalSize
}

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct {
	Width, Height int
}
