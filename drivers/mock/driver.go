// Package mock is mock_driver, the test driver of Nomad's development
// builds, which Nomad's own API test suite runs jobs on: a task that runs
// no program, writes the output its config gives to its real log files,
// runs for a while and exits as told. Roam's dev agent enables it; no
// other agent has it unless `plugin "mock_driver" { config { enabled =
// true } }` says so.
package mock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/executor"
	"github.com/roam-project/roam/drivers/logging"
)

// Name is the driver's name in job files.
const Name = "mock_driver"

// Driver is mock_driver; it is disabled until its plugin config enables it.
type Driver struct {
	mu      sync.Mutex
	enabled bool
	tasks   map[string]*task
}

// task is one running mock task.
type task struct {
	cfg taskConfig
	// stopping is closed, once, when the task is told to stop with
	// stopSig.
	stopping chan struct{}
	stopSig  syscall.Signal
	once     sync.Once
	done     chan struct{} // closed when the task has exited
	res      *drivers.ExitResult
}

// New returns a disabled mock_driver.
func New() *Driver {
	return &Driver{tasks: make(map[string]*task)}
}

// Name implements drivers.Driver.
func (d *Driver) Name() string { return Name }

// SetConfig implements drivers.Driver: the only key is `enabled`.
func (d *Driver) SetConfig(config map[string]any) error {
	enabled := false
	for k, v := range config {
		if k != "enabled" {
			return fmt.Errorf("mock_driver plugin config: unknown key %q", k)
		}
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("mock_driver plugin config: \"enabled\" must be a bool, got %T", v)
		}
		enabled = b
	}
	d.mu.Lock()
	d.enabled = enabled
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

// StartTask implements drivers.Driver: the task's output goes to its log
// files through the same rotation as every driver's.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	tc, err := parseTaskConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	time.Sleep(tc.StartBlockFor)
	if tc.StartError != "" {
		return nil, errors.New(tc.StartError)
	}
	stdout, err := logging.NewRotator(cfg.StdoutPath, cfg.LogMaxFiles, cfg.LogMaxFileSizeMB)
	if err != nil {
		return nil, fmt.Errorf("mock_driver: open stdout: %w", err)
	}
	stderr, err := logging.NewRotator(cfg.StderrPath, cfg.LogMaxFiles, cfg.LogMaxFileSizeMB)
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("mock_driver: open stderr: %w", err)
	}
	t := &task{cfg: tc, stopping: make(chan struct{}), done: make(chan struct{})}
	d.mu.Lock()
	if _, exists := d.tasks[cfg.ID]; exists {
		d.mu.Unlock()
		stdout.Close()
		stderr.Close()
		return nil, fmt.Errorf("task %q is already started", cfg.ID)
	}
	d.tasks[cfg.ID] = t
	d.mu.Unlock()
	go t.run(stdout, stderr)
	return &drivers.TaskHandle{Driver: Name, Config: cfg, StartedAt: time.Now()}, nil
}

// run writes the task's output, then waits out run_for or a stop.
func (t *task) run(stdout, stderr io.WriteCloser) {
	defer close(t.done)
	var wg sync.WaitGroup
	for _, s := range []struct {
		w   io.WriteCloser
		out output
	}{{stdout, t.cfg.Stdout}, {stderr, t.cfg.Stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.w.Close()
			t.write(s.w, s.out)
		}()
	}
	wg.Wait()
	select {
	case <-time.After(t.cfg.RunFor):
		t.res = &drivers.ExitResult{ExitCode: t.cfg.ExitCode, Signal: t.cfg.ExitSignal}
		if t.cfg.ExitErrMsg != "" {
			t.res.Err = errors.New(t.cfg.ExitErrMsg)
		}
	case <-t.stopping:
		t.res = &drivers.ExitResult{Signal: int(t.stopSig)}
	}
}

// write writes out.String out.Repeat+1 times, stopping early on a stop.
func (t *task) write(w io.Writer, out output) {
	if out.String == "" {
		return
	}
	for i := 0; i <= out.Repeat; i++ {
		if _, err := io.WriteString(w, out.String); err != nil {
			return
		}
		if i == out.Repeat {
			return
		}
		select {
		case <-time.After(out.RepeatDuration):
		case <-t.stopping:
			return
		}
	}
}

// signalStop tells the task to exit with sig, once.
func (t *task) signalStop(sig syscall.Signal) {
	t.once.Do(func() {
		t.stopSig = sig
		close(t.stopping)
	})
}

// RecoverTask implements drivers.Driver: a mock task lives in the client's
// process, so it does not outlive a client restart.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle != nil && handle.Config != nil {
		d.mu.Lock()
		_, ok := d.tasks[handle.Config.ID]
		d.mu.Unlock()
		if ok {
			return nil
		}
	}
	return errors.New("mock_driver: tasks do not survive a client restart")
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
		case <-t.done:
			ch <- t.res
		case <-ctx.Done():
		}
		close(ch)
	}()
	return ch, nil
}

// StopTask implements drivers.Driver: the task exits kill_after after the
// signal (or after timeout, whichever is first).
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	sig := syscall.SIGINT
	if signal != "" {
		if sig, err = executor.ParseSignal(signal); err != nil {
			return err
		}
	}
	delay := t.cfg.KillAfter
	if timeout > 0 && timeout < delay {
		delay, sig = timeout, syscall.SIGKILL
	}
	select {
	case <-t.done:
		return nil
	case <-time.After(delay):
	}
	t.signalStop(sig)
	<-t.done
	return nil
}

// DestroyTask implements drivers.Driver.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	select {
	case <-t.done:
	default:
		if !force {
			return fmt.Errorf("cannot destroy running task %q", taskID)
		}
		t.signalStop(syscall.SIGKILL)
		<-t.done
	}
	d.mu.Lock()
	delete(d.tasks, taskID)
	d.mu.Unlock()
	return nil
}

// SignalTask implements drivers.Driver: signals are accepted and ignored,
// unless signal_error says to fail them.
func (d *Driver) SignalTask(taskID string, signal string) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	if t.cfg.SignalError != "" {
		return errors.New(t.cfg.SignalError)
	}
	_, err = executor.ParseSignal(signal)
	return err
}

// ExecTask implements drivers.Driver: a mock task has no program to run
// commands beside.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, tty bool, streams drivers.ExecStreams) (int, error) {
	if _, err := d.task(taskID); err != nil {
		return -1, err
	}
	return -1, errors.New("mock_driver: exec is not supported")
}

// TaskStats implements drivers.Driver: a mock task uses nothing.
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*drivers.TaskStats, error) {
	if _, err := d.task(taskID); err != nil {
		return nil, err
	}
	return &drivers.TaskStats{Timestamp: time.Now()}, nil
}
