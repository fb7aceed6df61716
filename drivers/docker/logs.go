package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/logging"
)

// logDrainWait is how long DestroyTask lets the log copier drain the
// output of an exited container before cutting it off.
const logDrainWait = 5 * time.Second

// startLogs copies the container's stdout and stderr, from since (zero:
// from the start), into the task's rotated log files until the container
// exits or stopLogs is called.
func (h *taskHandle) startLogs(since time.Time) {
	if h.task.StdoutPath == "" || h.task.StderrPath == "" {
		return
	}
	ctx, cancel := context.WithCancel(h.d.ctx)
	done := make(chan struct{})
	h.logMu.Lock()
	h.logCancel, h.logDone = cancel, done
	h.logMu.Unlock()
	go func() {
		defer close(done)
		if err := h.copyLogs(ctx, since); err != nil && ctx.Err() == nil {
			h.d.logger.Warn("copy container logs", "task_id", h.taskID, "error", err)
		}
	}()
}

func (h *taskHandle) copyLogs(ctx context.Context, since time.Time) error {
	stdout, err := openRotator(h.task.StdoutPath, h.task)
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := openRotator(h.task.StderrPath, h.task)
	if err != nil {
		return err
	}
	defer stderr.Close()
	c, err := h.d.client()
	if err != nil {
		return err
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	rc, err := c.ContainerLogs(ctx, h.containerID, opts)
	if err != nil {
		return fmt.Errorf("stream logs of container %s: %w", h.containerID, err)
	}
	defer rc.Close()
	if h.tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	return err
}

func openRotator(base string, task *drivers.TaskConfig) (*logging.Rotator, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	return logging.NewRotator(base, task.LogMaxFiles, task.LogMaxFileSizeMB)
}

// stopLogs lets the log copier drain for up to grace, then stops it.
func (h *taskHandle) stopLogs(grace time.Duration) {
	h.logMu.Lock()
	cancel, done := h.logCancel, h.logDone
	h.logMu.Unlock()
	if cancel == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(grace):
	}
	cancel()
	<-done
}

// lastLogWrite is when the task's log files were last written, from which
// a recovered task resumes copying output; zero when there are none.
func lastLogWrite(task *drivers.TaskConfig) time.Time {
	var last time.Time
	for _, base := range []string{task.StdoutPath, task.StderrPath} {
		if base == "" {
			continue
		}
		indexes, err := logging.Indexes(base)
		if err != nil || len(indexes) == 0 {
			continue
		}
		info, err := os.Stat(logging.FileName(base, indexes[len(indexes)-1]))
		if err == nil && info.ModTime().After(last) {
			last = info.ModTime()
		}
	}
	return last
}
