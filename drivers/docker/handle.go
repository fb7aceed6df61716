package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/roam-project/roam/drivers"
)

// killWait bounds how long StopTask and DestroyTask wait for a container to
// exit after SIGKILL.
const killWait = 30 * time.Second

// taskHandle tracks one running container: its exit and its log copier.
type taskHandle struct {
	d           *Driver
	taskID      string
	task        *drivers.TaskConfig
	containerID string
	imageID     string
	tty         bool
	startedAt   time.Time

	done chan struct{} // closed once exit is set
	exit *drivers.ExitResult

	logMu     sync.Mutex
	logCancel context.CancelFunc
	logDone   chan struct{}
}

func newTaskHandle(d *Driver, task *drivers.TaskConfig, containerID, imageID string, tty bool) *taskHandle {
	return &taskHandle{
		d:           d,
		taskID:      task.ID,
		task:        task,
		containerID: containerID,
		imageID:     imageID,
		tty:         tty,
		startedAt:   time.Now(),
		done:        make(chan struct{}),
	}
}

// run starts watching for the container's exit and copying its output
// written since logsSince (zero: all of it).
func (h *taskHandle) run(logsSince time.Time) {
	if !h.d.config().DisableLogCollection {
		h.startLogs(logsSince)
	}
	go h.watch()
}

// watch waits for the container to stop running and records how it ended.
func (h *taskHandle) watch() {
	c, err := h.d.client()
	if err != nil {
		h.finish(&drivers.ExitResult{Err: err})
		return
	}
	for {
		waitCh, errCh := c.ContainerWait(h.d.ctx, h.containerID, container.WaitConditionNotRunning)
		select {
		case res := <-waitCh:
			h.finish(h.exitResult(c, res))
			return
		case err := <-errCh:
			if h.d.ctx.Err() != nil {
				return // driver shut down: the container outlives this client
			}
			if client.IsErrNotFound(err) {
				h.finish(&drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("container %s disappeared: %w", h.containerID, err)})
				return
			}
			h.d.logger.Warn("wait for container failed; retrying", "container_id", h.containerID, "error", err)
			select {
			case <-time.After(time.Second):
			case <-h.d.ctx.Done():
				return
			}
		}
	}
}

// exitResult completes the wait response with the OOM flag from the
// container's state.
func (h *taskHandle) exitResult(c *client.Client, res container.WaitResponse) *drivers.ExitResult {
	exit := &drivers.ExitResult{ExitCode: int(res.StatusCode)}
	if res.Error != nil && res.Error.Message != "" {
		exit.Err = errors.New(res.Error.Message)
	}
	inspect, err := c.ContainerInspect(h.d.ctx, h.containerID)
	if err == nil && inspect.State != nil {
		exit.OOMKilled = inspect.State.OOMKilled
		if exit.Err == nil && inspect.State.Error != "" {
			exit.Err = errors.New(inspect.State.Error)
		}
	}
	return exit
}

func (h *taskHandle) finish(exit *drivers.ExitResult) {
	h.exit = exit
	close(h.done)
	h.d.logger.Info("container exited", "task_id", h.taskID, "container_id", h.containerID,
		"exit_code", exit.ExitCode, "oom_killed", exit.OOMKilled)
}

func (h *taskHandle) exited() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// WaitTask returns a channel that yields the task's exit once.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	h, err := d.handle(taskID)
	if err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-h.done:
			ch <- h.exit
		case <-ctx.Done():
		}
	}()
	return ch, nil
}

// StopTask sends signal (the task's kill_signal, else SIGTERM), waits up to
// timeout for the container to exit, then kills it.
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	h, err := d.handle(taskID)
	if err != nil {
		return err
	}
	if signal == "" {
		signal = h.task.KillSignal
	}
	if signal == "" {
		signal = "SIGTERM"
	}
	if err := h.kill(signal); err != nil {
		return err
	}
	select {
	case <-h.done:
		return nil
	case <-time.After(timeout):
	}
	d.logger.Info("container did not stop in time; killing", "task_id", taskID, "timeout", timeout)
	return h.killAndWait()
}

// kill sends sig to the container unless it already exited.
func (h *taskHandle) kill(sig string) error {
	if h.exited() {
		return nil
	}
	c, err := h.d.client()
	if err != nil {
		return err
	}
	err = c.ContainerKill(context.Background(), h.containerID, sig)
	// A conflict means the container is no longer running; not found,
	// that it is gone.
	if err != nil && !errdefs.IsConflict(err) && !client.IsErrNotFound(err) {
		return fmt.Errorf("signal container %s with %s: %w", h.containerID, sig, err)
	}
	return nil
}

func (h *taskHandle) killAndWait() error {
	if err := h.kill("SIGKILL"); err != nil {
		return err
	}
	select {
	case <-h.done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("container %s did not exit %s after SIGKILL", h.containerID, killWait)
	}
}

// SignalTask delivers a signal by name to the container's main process.
func (d *Driver) SignalTask(taskID string, signal string) error {
	h, err := d.handle(taskID)
	if err != nil {
		return err
	}
	if h.exited() {
		return fmt.Errorf("signal docker task %q: task has exited", taskID)
	}
	return h.kill(signal)
}

// DestroyTask removes the container (when `gc { container }` is on) and
// releases its image; a running container is an error unless force.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	h, err := d.handle(taskID)
	if err != nil {
		return err
	}
	if !h.exited() {
		if !force {
			return fmt.Errorf("destroy docker task %q: task is still running", taskID)
		}
		if err := h.killAndWait(); err != nil {
			return fmt.Errorf("destroy docker task %q: %w", taskID, err)
		}
	}
	h.stopLogs(logDrainWait)
	if d.config().GC.Container {
		c, err := d.client()
		if err != nil {
			return err
		}
		err = c.ContainerRemove(context.Background(), h.containerID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !client.IsErrNotFound(err) {
			return fmt.Errorf("destroy docker task %q: remove container: %w", taskID, err)
		}
	}
	d.images.release(h.imageID)
	d.removeHandle(taskID)
	return nil
}

// RecoverTask re-attaches to the container recorded in handle.State: it
// resumes waiting for its exit and copying its new output.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return fmt.Errorf("recover docker task: handle has no task config")
	}
	if _, err := d.handle(handle.Config.ID); err == nil {
		return nil
	}
	var st handleState
	if err := json.Unmarshal(handle.State, &st); err != nil || st.ContainerID == "" {
		return fmt.Errorf("recover docker task %q: bad handle state %q", handle.Config.ID, handle.State)
	}
	c, err := d.client()
	if err != nil {
		return err
	}
	inspect, err := c.ContainerInspect(d.ctx, st.ContainerID)
	if client.IsErrNotFound(err) {
		return fmt.Errorf("recover docker task %q: container %s: %w", handle.Config.ID, st.ContainerID, drivers.ErrTaskNotFound)
	}
	if err != nil {
		return fmt.Errorf("recover docker task %q: inspect container: %w", handle.Config.ID, err)
	}
	tty := inspect.Config != nil && inspect.Config.Tty
	h := newTaskHandle(d, handle.Config, st.ContainerID, st.ImageID, tty)
	h.startedAt = handle.StartedAt
	d.images.acquire(st.ImageID)
	d.putHandle(h)
	h.run(lastLogWrite(handle.Config))
	d.logger.Info("recovered container", "task_id", handle.Config.ID, "container_id", st.ContainerID)
	return nil
}
