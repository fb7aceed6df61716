package isolation

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Reattach re-attaches to a task launched by an earlier driver process,
// from its State. A task that ended meanwhile is returned already done.
func Reattach(state State) (*Task, error) {
	if state.StateDir == "" || state.SupervisorPID <= 0 {
		return nil, errors.New("task state has no supervisor to re-attach to")
	}
	cg, err := LoadCgroup(state.Cgroup)
	if err != nil {
		return nil, err
	}
	t := &Task{state: state, cgroup: cg, done: make(chan struct{})}
	pidfd, err := t.openSupervisor()
	if err != nil {
		return nil, err
	}
	if pidfd < 0 {
		t.finish() // it ended while no driver watched it
		return t, nil
	}
	go func() {
		waitPidfd(pidfd)
		t.finish()
	}()
	return t, nil
}

// openSupervisor returns a pidfd of the task's supervisor, or -1 when that
// process is gone (its PID missing or reused by another process).
func (t *Task) openSupervisor() (int, error) {
	pidfd, err := unix.PidfdOpen(t.state.SupervisorPID, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open supervisor pid %d: %w", t.state.SupervisorPID, err)
	}
	// The pidfd pins the process, so the start time check cannot race.
	start, err := processStartTime(t.state.SupervisorPID)
	if err != nil || start != t.state.SupervisorStart {
		unix.Close(pidfd)
		return -1, nil
	}
	return pidfd, nil
}

// waitPidfd blocks until the process behind pidfd has ended.
func waitPidfd(pidfd int) {
	defer unix.Close(pidfd)
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// processStartTime reads a process's start time (clock ticks since boot),
// which tells it apart from a later process given the same PID.
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read start time of pid %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields after it don't.
	end := strings.LastIndexByte(string(data), ')')
	if end < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(data[end+1:]))
	const startTimeField = 19 // field 22 of stat, counted after field 2
	if len(fields) <= startTimeField {
		return 0, fmt.Errorf("parse /proc/%d/stat: too few fields", pid)
	}
	start, err := strconv.ParseUint(fields[startTimeField], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat start time: %w", pid, err)
	}
	return start, nil
}
