// Package rawexec is the raw_exec task driver: it runs a command on the host
// with no isolation, through a supervising executor process so that tasks
// survive client restarts.
package rawexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/executor"
)

// Name is the driver's name in job files.
const Name = "raw_exec"

// defaultKillSignal is used when neither the caller nor the task names one.
const defaultKillSignal = "SIGINT"

// Driver is the raw_exec driver. It is disabled until the agent's plugin
// config sets enabled = true, as in Nomad.
type Driver struct {
	mu      sync.Mutex
	enabled bool
	tasks   map[string]*task
}

type task struct {
	cfg  *drivers.TaskConfig
	proc *executor.Process
}

// New returns a disabled raw_exec driver.
func New() *Driver {
	return &Driver{tasks: make(map[string]*task)}
}

// Name implements drivers.Driver.
func (d *Driver) Name() string { return Name }

// InheritHostEnv reports that raw_exec tasks see the agent's environment,
// since they have no filesystem isolation (Nomad does the same).
func (d *Driver) InheritHostEnv() bool { return true }

// SetConfig implements drivers.Driver.
func (d *Driver) SetConfig(config map[string]any) error {
	cfg, err := parsePluginConfig(config)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.enabled = cfg.Enabled
	d.mu.Unlock()
	return nil
}

// Fingerprint implements drivers.Driver.
func (d *Driver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.enabled {
		return &drivers.Fingerprint{HealthDescription: "disabled"}
	}
	return &drivers.Fingerprint{
		Detected: true, Healthy: true, HealthDescription: "Healthy",
		Attributes: map[string]string{"": "1"},
	}
}

// ValidateConfig implements drivers.Driver.
func (d *Driver) ValidateConfig(config map[string]any) error {
	_, err := parseTaskConfig(config)
	return err
}

// StartTask implements drivers.Driver.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	tc, err := parseTaskConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	_, exists := d.tasks[cfg.ID]
	d.mu.Unlock()
	if exists {
		return nil, fmt.Errorf("task %q is already started", cfg.ID)
	}
	if err := linkVolumes(cfg.TaskDir, cfg.Mounts); err != nil {
		return nil, err
	}
	command, err := lookupCommand(tc.Command, cfg.TaskDir, cfg.Env["PATH"])
	if err != nil {
		return nil, err
	}
	dir := cfg.TaskDir
	if tc.WorkDir != "" {
		dir = tc.WorkDir
	}
	proc, err := executor.Launch(&executor.Spec{
		Command: command, Args: tc.Args, Env: envList(cfg.Env), Dir: dir, User: cfg.User,
		StdoutPath: cfg.StdoutPath, StderrPath: cfg.StderrPath,
		LogMaxFiles: cfg.LogMaxFiles, LogMaxFileSizeMB: cfg.LogMaxFileSizeMB,
		StateDir: StateDir(cfg.TaskDir), NetNS: netNS(cfg),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to launch command with executor: %w", err)
	}
	state, err := json.Marshal(proc.Handle)
	if err != nil {
		return nil, fmt.Errorf("encode task handle: %w", err)
	}
	d.mu.Lock()
	d.tasks[cfg.ID] = &task{cfg: cfg, proc: proc}
	d.mu.Unlock()
	return &drivers.TaskHandle{Driver: Name, Config: cfg, StartedAt: time.Now(), State: state}, nil
}

// netNS is the network namespace the task joins; "" is the host's.
func netNS(cfg *drivers.TaskConfig) string {
	if cfg.Network == nil {
		return ""
	}
	return cfg.Network.Path
}

// StateDir is where the executor of the task in taskDir keeps its files.
func StateDir(taskDir string) string {
	return filepath.Join(taskDir, ".executor")
}

// lookupCommand resolves a command as Nomad's raw_exec does: absolute paths
// as given, then relative to the task directory, then on PATH.
func lookupCommand(command, taskDir, path string) (string, error) {
	if filepath.IsAbs(command) {
		return command, nil
	}
	for _, dir := range []string{taskDir, filepath.Join(taskDir, "local")} {
		p := filepath.Join(dir, command)
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	if path == "" {
		path = os.Getenv("PATH")
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, command)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("failed to find command %q: %w", command, exec.ErrNotFound)
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// RecoverTask implements drivers.Driver.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return errors.New("raw_exec: recover task: handle has no config")
	}
	var h executor.Handle
	if err := json.Unmarshal(handle.State, &h); err != nil {
		return fmt.Errorf("raw_exec: decode task handle: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tasks[handle.Config.ID]; ok {
		return nil
	}
	proc, err := executor.Attach(h)
	if err != nil {
		return fmt.Errorf("raw_exec: recover task %q: %w", handle.Config.ID, err)
	}
	d.tasks[handle.Config.ID] = &task{cfg: handle.Config, proc: proc}
	return nil
}

func (d *Driver) task(id string) (*task, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tasks[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", drivers.ErrTaskNotFound, id)
	}
	return t, nil
}

// WaitTask implements drivers.Driver.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	t, err := d.task(taskID)
	if err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		select {
		case <-t.proc.Done():
			ch <- t.proc.Result()
		case <-ctx.Done():
		}
		close(ch)
	}()
	return ch, nil
}

// StopTask implements drivers.Driver.
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	sig, err := t.killSignal(signal)
	if err != nil {
		return err
	}
	return t.proc.Stop(sig, timeout)
}

func (t *task) killSignal(signal string) (syscall.Signal, error) {
	for _, name := range []string{signal, t.cfg.KillSignal, defaultKillSignal} {
		if name != "" {
			return executor.ParseSignal(name)
		}
	}
	return syscall.SIGINT, nil
}

// DestroyTask implements drivers.Driver.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	select {
	case <-t.proc.Done():
	default:
		if !force {
			return fmt.Errorf("cannot destroy running task %q", taskID)
		}
		if err := t.proc.Stop(syscall.SIGKILL, 0); err != nil {
			return err
		}
	}
	d.mu.Lock()
	delete(d.tasks, taskID)
	d.mu.Unlock()
	return nil
}

// SignalTask implements drivers.Driver.
func (d *Driver) SignalTask(taskID string, signal string) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	sig, err := executor.ParseSignal(signal)
	if err != nil {
		return err
	}
	return t.proc.Signal(sig)
}

// ExecTask implements drivers.Driver: the command runs on the host in the
// task's directory and environment, on a new terminal when tty is set.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, tty bool, streams drivers.ExecStreams) (int, error) {
	t, err := d.task(taskID)
	if err != nil {
		return -1, err
	}
	if len(cmd) == 0 {
		return -1, errors.New("raw_exec: exec: empty command")
	}
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Dir, c.Env = t.cfg.TaskDir, envList(t.cfg.Env)
	if tty {
		return runWithTTY(ctx, c, streams)
	}
	c.Stdout, c.Stderr = streams.Stdout, streams.Stderr
	if streams.Stdin != nil {
		// A pipe of our own, so that Wait does not wait on a stdin that
		// may never end.
		pr, pw, err := os.Pipe()
		if err != nil {
			return -1, fmt.Errorf("raw_exec: exec: stdin pipe: %w", err)
		}
		defer pw.Close()
		c.Stdin = pr
		go func() { _, _ = io.Copy(pw, streams.Stdin); pw.Close() }()
		defer pr.Close()
	}
	err = c.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("raw_exec: exec %s: %w", strings.Join(cmd, " "), err)
	}
	return 0, nil
}

// TaskStats implements drivers.Driver.
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*drivers.TaskStats, error) {
	t, err := d.task(taskID)
	if err != nil {
		return nil, err
	}
	return t.proc.Stats()
}
