package taskrunner

import (
	"context"
	"errors"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
)

// ErrTaskNotRunning is returned when restarting or signalling a task that
// is not running.
var ErrTaskNotRunning = errors.New("Task not running")

type restartRequest struct {
	reason string
	done   chan error
}

// Kill stops the task for good, recording ev (a Killing or Sibling Task
// Failed event) first, and waits until the runner has finished.
func (tr *TaskRunner) Kill(ctx context.Context, ev *api.TaskEvent) error {
	select {
	case <-tr.waitCh:
		return nil
	default:
	}
	tr.killOnce.Do(func() {
		if ev != nil {
			tr.emit(ev, nil)
		}
		close(tr.killCh)
	})
	select {
	case <-tr.waitCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Restart stops the running task and starts it again at once; the restart
// does not count against the restart policy.
func (tr *TaskRunner) Restart(ctx context.Context) error {
	return tr.restart(ctx, reasonUserRestart)
}

// RestartBecause restarts the task as Restart does, recording reason (a
// failing health check, say) in its event.
func (tr *TaskRunner) RestartBecause(ctx context.Context, reason string) error {
	return tr.restart(ctx, reason)
}

// restart asks the run loop to restart the task, giving the reason.
func (tr *TaskRunner) restart(ctx context.Context, reason string) error {
	if !tr.isRunning() {
		return ErrTaskNotRunning
	}
	req := restartRequest{reason: reason, done: make(chan error, 1)}
	select {
	case tr.restartCh <- req:
	case <-tr.waitCh:
		return ErrTaskNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Signal sends a signal (by name) to the running task.
func (tr *TaskRunner) Signal(signal string) error {
	if !tr.isRunning() {
		return ErrTaskNotRunning
	}
	tr.emit(signalingEvent(signal, "User requested signal"), nil)
	return tr.cfg.Driver.SignalTask(tr.taskID, signal)
}

func (tr *TaskRunner) isRunning() bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.running
}

// Exec runs a command inside the running task's environment.
func (tr *TaskRunner) Exec(ctx context.Context, cmd []string, tty bool, streams drivers.ExecStreams) (int, error) {
	if !tr.isRunning() {
		return -1, ErrTaskNotRunning
	}
	return tr.cfg.Driver.ExecTask(ctx, tr.taskID, cmd, tty, streams)
}
