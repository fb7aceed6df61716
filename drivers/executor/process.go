package executor

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/internal/reexec"
	"github.com/roam-project/roam/network"
)

// Process is a supervised task, launched by this client process or
// re-attached from an earlier one.
type Process struct {
	Handle Handle

	done   chan struct{}
	result *drivers.ExitResult

	statsMu sync.Mutex
	last    cpuSample
}

// Launch starts an executor for spec and returns once the task has started
// (or failed to).
func Launch(spec *Spec) (*Process, error) {
	if err := os.MkdirAll(spec.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create executor state dir: %w", err)
	}
	_ = os.Remove(filepath.Join(spec.StateDir, exitFile))
	if err := writeJSON(filepath.Join(spec.StateDir, specFile), spec); err != nil {
		return nil, err
	}
	cmd, err := reexec.Command(Role, spec.StateDir)
	if err != nil {
		return nil, err
	}
	logOut, err := os.OpenFile(filepath.Join(spec.StateDir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open executor log: %w", err)
	}
	defer logOut.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create report pipe: %w", err)
	}
	defer reportR.Close()
	cmd.Stdout, cmd.Stderr = logOut, logOut
	cmd.ExtraFiles = []*os.File{reportW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = network.InNamespace(spec.NetNS, cmd.Start)
	reportW.Close()
	if err != nil {
		return nil, fmt.Errorf("start executor: %w", err)
	}
	p := &Process{done: make(chan struct{})}
	taskPID, err := readReport(reportR)
	if err != nil {
		_ = cmd.Wait()
		return nil, err
	}
	p.Handle = Handle{ExecutorPID: cmd.Process.Pid, TaskPID: taskPID, StateDir: spec.StateDir}
	p.Handle.ExecutorStartTicks, _ = procStartTicks(cmd.Process.Pid)
	go func() {
		_ = cmd.Wait()
		p.finish()
	}()
	return p, nil
}

func readReport(r *os.File) (int, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return 0, errors.New("executor exited before starting the task")
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return 0, errors.New(msg)
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "ok "))
	if err != nil {
		return 0, fmt.Errorf("executor report %q: %w", line, err)
	}
	return pid, nil
}

// Attach re-attaches to an executor started by an earlier client. A task
// that exited meanwhile yields a Process that is already done.
func Attach(h Handle) (*Process, error) {
	p := &Process{Handle: h, done: make(chan struct{})}
	if _, err := os.Stat(filepath.Join(h.StateDir, exitFile)); err == nil {
		p.finish()
		return p, nil
	}
	fd, err := unix.PidfdOpen(h.ExecutorPID, 0)
	if err == nil && h.ExecutorStartTicks != 0 {
		if ticks, terr := procStartTicks(h.ExecutorPID); terr != nil || ticks != h.ExecutorStartTicks {
			unix.Close(fd)
			err = errors.New("pid reused")
		}
	}
	if err != nil {
		if _, serr := os.Stat(filepath.Join(h.StateDir, exitFile)); serr == nil {
			p.finish()
			return p, nil
		}
		return nil, fmt.Errorf("executor %d is gone and recorded no exit", h.ExecutorPID)
	}
	go func() {
		waitPidfd(fd)
		unix.Close(fd)
		p.finish()
	}()
	return p, nil
}

// waitPidfd blocks until the process behind fd exits.
func waitPidfd(fd int) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, -1)
		if err == nil && n > 0 {
			return
		}
		if err != nil && err != unix.EINTR {
			return
		}
	}
}

// finish reads the exit record after the executor has exited.
func (p *Process) finish() {
	var rec exitRecord
	res := &drivers.ExitResult{}
	if err := readJSON(filepath.Join(p.Handle.StateDir, exitFile), &rec); err != nil {
		res.ExitCode = -1
		res.Err = fmt.Errorf("executor exited without recording the task's exit: %w", err)
	} else {
		res.ExitCode, res.Signal = rec.ExitCode, rec.Signal
		if rec.Err != "" {
			res.Err = errors.New(rec.Err)
		}
	}
	p.result = res
	close(p.done)
}

// Done is closed when the task has exited and its result is known.
func (p *Process) Done() <-chan struct{} { return p.done }

// Result is the task's exit; valid once Done is closed.
func (p *Process) Result() *drivers.ExitResult {
	<-p.done
	return p.result
}

// Signal sends sig to the task's process group.
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return errors.New("task is not running")
	default:
	}
	return p.signalGroup(sig)
}

// signalGroup signals the task's process group. A PID of 0 or less would
// make kill(2) signal this process's own group (the agent), so it is
// refused.
func (p *Process) signalGroup(sig syscall.Signal) error {
	if p.Handle.TaskPID <= 0 {
		return fmt.Errorf("signal task: no task process (pid %d)", p.Handle.TaskPID)
	}
	if err := syscall.Kill(-p.Handle.TaskPID, sig); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("signal task: %w", err)
	}
	return nil
}

// Stop sends sig to the task's process group, waits up to timeout for it to
// exit, then kills the group.
func (p *Process) Stop(sig syscall.Signal, timeout time.Duration) error {
	if err := p.Signal(sig); err != nil {
		select {
		case <-p.done:
			return nil
		default:
			return err
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}

// procStartTicks reads a process's start time (clock ticks after boot).
func procStartTicks(pid int) (uint64, error) {
	fields, err := procStatFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// procStatFields returns the fields of /proc/PID/stat after the command
// name, so fields[0] is the state (field 3 in proc(5)).
func procStatFields(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	s := string(data)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 22 {
		return nil, fmt.Errorf("short /proc/%d/stat", pid)
	}
	return fields, nil
}
