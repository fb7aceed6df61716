package isolation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-project/roam/drivers"
	"golang.org/x/sys/unix"
)

// DefaultStateRoot holds the supervisors' state directories.
const DefaultStateRoot = "/run/roam/isolation"

// DefaultKillSignal is sent by StopTask when neither the call nor the task
// names a signal (Nomad's default kill_signal).
const DefaultKillSignal = "SIGINT"

// Tasks is a driver's table of isolated tasks. It implements the lifecycle
// methods of drivers.Driver (all but Name, SetConfig, Fingerprint,
// ValidateConfig and StartTask), so a driver embeds it.
type Tasks struct {
	driver    string
	stateRoot string

	mu    sync.RWMutex
	tasks map[string]*Task
}

// NewTasks returns an empty table for the named driver whose supervisors
// keep their files under stateRoot.
func NewTasks(driver, stateRoot string) *Tasks {
	return &Tasks{driver: driver, stateRoot: stateRoot, tasks: map[string]*Task{}}
}

// NewSpec fills a Spec with what cfg says about the task: its environment,
// directories, logs and limits. The driver sets the command and isolation.
func NewSpec(cfg *drivers.TaskConfig) *Spec {
	env := make([]string, 0, len(cfg.Env))
	for k, v := range cfg.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	limits := Limits{
		MemoryMB:  max(cfg.Resources.MemoryMB, cfg.Resources.MemoryMaxMB),
		CPUShares: cfg.Resources.CPUShares,
		Cores:     cfg.Resources.ReservedCores,
	}
	if cfg.Resources.MemoryMaxMB > cfg.Resources.MemoryMB {
		limits.MemoryReservationMB = cfg.Resources.MemoryMB
	}
	var netNS, hostname, resolvConf string
	if n := cfg.Network; n != nil {
		netNS, hostname, resolvConf = n.Path, n.Hostname, n.ResolvConf
	}
	return &Spec{
		NetNS: netNS, Hostname: hostname, ResolvConf: resolvConf,
		TaskID: cfg.ID, Env: env, User: cfg.User,
		TaskDir: cfg.TaskDir, AllocDir: sharedAllocDir(cfg.AllocDir), Limits: limits,
		StdoutPath: cfg.StdoutPath, StderrPath: cfg.StderrPath,
		LogMaxFiles: cfg.LogMaxFiles, LogMaxFileSizeMB: cfg.LogMaxFileSizeMB,
		Mounts: cfg.Mounts, DeviceNodes: cfg.DeviceNodes,
	}
}

// sharedAllocDir is the directory a task sees as /alloc: allocDir itself,
// or its alloc/ when allocDir is the whole allocation's directory.
func sharedAllocDir(allocDir string) string {
	shared := filepath.Join(allocDir, "alloc")
	if info, err := os.Stat(shared); allocDir != "" && err == nil && info.IsDir() {
		return shared
	}
	return allocDir
}

// Launch starts spec as the task cfg and returns the handle to persist.
func (ts *Tasks) Launch(cfg *drivers.TaskConfig, spec *Spec) (*drivers.TaskHandle, error) {
	ts.mu.RLock()
	old := ts.tasks[cfg.ID]
	ts.mu.RUnlock()
	if old != nil && old.Running() {
		return nil, fmt.Errorf("task %s is already running", cfg.ID)
	}
	t, err := Launch(ts.stateRoot, spec)
	if err != nil {
		return nil, err
	}
	t.killSignal = cfg.KillSignal
	state, err := json.Marshal(t.State())
	if err != nil {
		return nil, fmt.Errorf("encode task state: %w", err)
	}
	ts.mu.Lock()
	ts.tasks[cfg.ID] = t
	ts.mu.Unlock()
	return &drivers.TaskHandle{Driver: ts.driver, Config: cfg, StartedAt: time.Now(), State: state}, nil
}

// Get returns the task with the ID, or drivers.ErrTaskNotFound.
func (ts *Tasks) Get(taskID string) (*Task, error) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	t, ok := ts.tasks[taskID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", drivers.ErrTaskNotFound, taskID)
	}
	return t, nil
}

// RecoverTask re-attaches to a task from the handle an earlier driver
// process returned.
func (ts *Tasks) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return errors.New("recover task: handle has no task config")
	}
	if _, err := ts.Get(handle.Config.ID); err == nil {
		return nil
	}
	var state State
	if err := json.Unmarshal(handle.State, &state); err != nil {
		return fmt.Errorf("recover task %s: decode state: %w", handle.Config.ID, err)
	}
	t, err := Reattach(state)
	if err != nil {
		return fmt.Errorf("recover task %s: %w", handle.Config.ID, err)
	}
	t.killSignal = handle.Config.KillSignal
	ts.mu.Lock()
	ts.tasks[handle.Config.ID] = t
	ts.mu.Unlock()
	return nil
}

// WaitTask returns a channel that yields the task's exit once.
func (ts *Tasks) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	t, err := ts.Get(taskID)
	if err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-t.Done():
			ch <- t.Result()
		case <-ctx.Done():
		}
	}()
	return ch, nil
}

// StopTask sends signal (when empty the task's kill_signal, else SIGINT),
// waits up to timeout for the task to exit, then kills it.
func (ts *Tasks) StopTask(taskID string, timeout time.Duration, signal string) error {
	t, err := ts.Get(taskID)
	if err != nil {
		return err
	}
	signal = firstSet(signal, t.killSignal, DefaultKillSignal)
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	if err := t.Signal(sig); err != nil && t.Running() {
		return err
	}
	return StopAfter(t, timeout)
}

// StopAfter waits up to timeout for t to exit, then kills it and waits.
func StopAfter(t *Task, timeout time.Duration) error {
	select {
	case <-t.Done():
		return nil
	case <-time.After(timeout):
	}
	if err := t.Kill(); err != nil {
		return fmt.Errorf("kill task: %w", err)
	}
	select {
	case <-t.Done():
		return nil
	case <-time.After(startTimeout):
		return errors.New("task did not exit after SIGKILL")
	}
}

// DestroyTask removes the task; a running one is an error unless force.
func (ts *Tasks) DestroyTask(taskID string, force bool) error {
	t, err := ts.Get(taskID)
	if err != nil {
		return err
	}
	if t.Running() && !force {
		return fmt.Errorf("task %s is still running; stop it or destroy with force", taskID)
	}
	if err := t.Destroy(); err != nil {
		return fmt.Errorf("destroy task %s: %w", taskID, err)
	}
	ts.mu.Lock()
	if ts.tasks[taskID] == t {
		delete(ts.tasks, taskID)
	}
	ts.mu.Unlock()
	return nil
}

// SignalTask delivers a signal by name ("SIGHUP" or "HUP").
func (ts *Tasks) SignalTask(taskID string, signal string) error {
	t, err := ts.Get(taskID)
	if err != nil {
		return err
	}
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	return t.Signal(sig)
}

// ExecTask runs cmd inside the task's environment.
func (ts *Tasks) ExecTask(ctx context.Context, taskID string, cmd []string, tty bool, streams drivers.ExecStreams) (int, error) {
	t, err := ts.Get(taskID)
	if err != nil {
		return 0, err
	}
	return t.Exec(ctx, cmd, tty, streams)
}

// TaskStats samples the task's cgroup.
func (ts *Tasks) TaskStats(_ context.Context, taskID string) (*drivers.TaskStats, error) {
	t, err := ts.Get(taskID)
	if err != nil {
		return nil, err
	}
	return t.Stats()
}

// ParseSignal turns a signal name ("SIGTERM", "TERM") into its number.
func ParseSignal(name string) (syscall.Signal, error) {
	upper := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(upper, "SIG") {
		upper = "SIG" + upper
	}
	sig := unix.SignalNum(upper)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q", name)
	}
	return sig, nil
}
