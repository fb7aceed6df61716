package isolation

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/internal/reexec"
	"github.com/roam-project/roam/network"
)

// startTimeout bounds how long Launch waits for the supervisor's report.
const startTimeout = time.Minute

// Task is a launched task as its driver sees it: the supervisor that runs
// it, its process and its cgroup.
type Task struct {
	state      State
	cgroup     *Cgroup
	killSignal string // the task's kill_signal, set by Tasks
	done       chan struct{}
	result     *drivers.ExitResult

	mu        sync.Mutex
	lastUsage *Usage
}

// State is what a driver persists to re-attach to a task (TaskHandle.State).
type State struct {
	StateDir        string   `json:"state_dir"`
	Cgroup          string   `json:"cgroup"`
	PID             int      `json:"pid"`
	SupervisorPID   int      `json:"supervisor_pid"`
	SupervisorStart uint64   `json:"supervisor_start"`
	User            string   `json:"user"`
	Chroot          bool     `json:"chroot"`
	TaskDir         string   `json:"task_dir"`
	Env             []string `json:"env"`
	Capabilities    []string `json:"capabilities"`
	NetNS           string   `json:"net_ns,omitempty"`
}

// Launch starts spec under a new supervisor whose files live in
// stateRoot/<task>, and returns once the task's command runs.
func Launch(stateRoot string, spec *Spec) (*Task, error) {
	stateDir := filepath.Join(stateRoot, strings.NewReplacer("/", ".", " ", "_").Replace(spec.TaskID))
	if err := os.RemoveAll(stateDir); err != nil {
		return nil, fmt.Errorf("clear state dir: %w", err)
	}
	if err := os.MkdirAll(stateDir, stateDirPerm); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	if err := writeJSON(filepath.Join(stateDir, specFile), spec); err != nil {
		return nil, err
	}
	// Whatever an earlier run of this task left is stale.
	if old, err := LoadCgroup(CgroupName(spec.TaskID)); err == nil {
		if err := old.Delete(); err != nil {
			return nil, err
		}
	}
	cg, err := NewCgroup(CgroupName(spec.TaskID), spec.Limits)
	if err != nil {
		return nil, err
	}
	t := &Task{
		state: State{StateDir: stateDir, Cgroup: cg.Name(), User: spec.User,
			Chroot: spec.Chroot, TaskDir: spec.TaskDir, Env: spec.Env, Capabilities: spec.Capabilities,
			NetNS: spec.NetNS},
		cgroup: cg,
		done:   make(chan struct{}),
	}
	if err := t.startSupervisor(); err != nil {
		cg.Delete()
		return nil, err
	}
	return t, nil
}

func (t *Task) startSupervisor() error {
	logFile, err := os.OpenFile(filepath.Join(t.state.StateDir, supervisorLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, stateFilePerms)
	if err != nil {
		return fmt.Errorf("open supervisor log: %w", err)
	}
	defer logFile.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create report pipe: %w", err)
	}
	defer reportR.Close()
	cmd, err := reexec.Command(supervisorRole, t.state.StateDir)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{reportW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = network.InNamespace(t.state.NetNS, cmd.Start)
	reportW.Close()
	if err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	// Read before the supervisor is reaped: a short task may end at once.
	start, startErr := processStartTime(cmd.Process.Pid)
	go func() {
		cmd.Wait()
		t.finish()
	}()
	var report startReport
	reportR.SetReadDeadline(time.Now().Add(startTimeout))
	if err := json.NewDecoder(reportR).Decode(&report); err != nil {
		cmd.Process.Kill()
		<-t.done
		return fmt.Errorf("supervisor did not report the task's start (see %s): %w", logFile.Name(), err)
	}
	if report.Err != "" {
		<-t.done
		return fmt.Errorf("start task: %s", report.Err)
	}
	t.state.PID, t.state.SupervisorPID, t.state.SupervisorStart = report.PID, cmd.Process.Pid, start
	return startErr
}

// finish reads the supervisor's exit record once it has ended.
func (t *Task) finish() {
	var rec exitRecord
	err := readJSON(filepath.Join(t.state.StateDir, exitFile), &rec)
	switch {
	case errors.Is(err, os.ErrNotExist):
		t.result = &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf(
			"task supervisor ended without recording the task's exit (see %s)",
			filepath.Join(t.state.StateDir, supervisorLog))}
	case err != nil:
		t.result = &drivers.ExitResult{ExitCode: -1, Err: err}
	default:
		t.result = &drivers.ExitResult{ExitCode: rec.ExitCode, Signal: rec.Signal, OOMKilled: rec.OOMKilled}
		if rec.Err != "" {
			t.result.Err = errors.New(rec.Err)
		}
	}
	close(t.done)
}

// State returns the task's re-attach data.
func (t *Task) State() State { return t.state }

// Done is closed once the task has ended; Result then says how.
func (t *Task) Done() <-chan struct{} { return t.done }

// Result is how the task ended; nil before Done is closed.
func (t *Task) Result() *drivers.ExitResult {
	select {
	case <-t.done:
		return t.result
	default:
		return nil
	}
}

// Running reports whether the task has not ended yet.
func (t *Task) Running() bool { return t.Result() == nil }

// Signal sends sig to the task's main process.
func (t *Task) Signal(sig syscall.Signal) error {
	if !t.Running() {
		return errors.New("task has exited")
	}
	if t.state.PID <= 0 {
		// kill(2) with 0 or less would signal the agent's own group.
		return fmt.Errorf("signal task: no task process (pid %d)", t.state.PID)
	}
	if err := syscall.Kill(t.state.PID, sig); err != nil {
		return fmt.Errorf("signal task pid %d: %w", t.state.PID, err)
	}
	return nil
}

// Kill sends SIGKILL to every process of the task.
func (t *Task) Kill() error {
	return t.cgroup.KillAll()
}

// Stats samples the task's cgroup; CPU percentages are over the time since
// the previous sample.
func (t *Task) Stats() (*drivers.TaskStats, error) {
	u, err := t.cgroup.Usage()
	if err != nil {
		return nil, err
	}
	pids, err := t.cgroup.PIDs()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	prev := t.lastUsage
	t.lastUsage = u
	t.mu.Unlock()
	s := &drivers.TaskStats{
		Timestamp: u.Time, MemoryRSS: u.MemoryRSS, MemoryCache: u.MemoryCache,
		MemoryUsage: u.MemoryUsage, MemoryMaxUsage: u.MemoryMaxUsage, PIDs: pids,
	}
	if prev != nil && u.Time.After(prev.Time) {
		wall := float64(u.Time.Sub(prev.Time).Nanoseconds())
		s.CPUPercent = float64(u.CPUTotal-prev.CPUTotal) / wall * 100
		s.CPUUserMode = float64(u.CPUUser-prev.CPUUser) / wall * 100
		s.CPUSystemMode = float64(u.CPUSystem-prev.CPUSystem) / wall * 100
	}
	return s, nil
}

// Destroy kills the task if it still runs, waits for its supervisor, and
// removes its cgroup and state directory.
func (t *Task) Destroy() error {
	if t.Running() {
		if err := t.Kill(); err != nil {
			return err
		}
		select {
		case <-t.done:
		case <-time.After(startTimeout):
			return errors.New("task supervisor did not end after the task was killed")
		}
	}
	if err := t.cgroup.Delete(); err != nil {
		return err
	}
	if err := os.RemoveAll(t.state.StateDir); err != nil {
		return fmt.Errorf("remove state dir: %w", err)
	}
	return nil
}
