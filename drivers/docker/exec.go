package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/roam-project/roam/drivers"
)

// ExecTask runs cmd inside the task's container through the engine's exec
// API, streaming stdin, stdout and stderr (one stream when tty), forwarding
// terminal resizes, and returns the command's exit code.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, tty bool, streams drivers.ExecStreams) (int, error) {
	if len(cmd) == 0 {
		return 0, fmt.Errorf("exec in docker task %q: no command given", taskID)
	}
	h, err := d.handle(taskID)
	if err != nil {
		return 0, err
	}
	if h.exited() {
		return 0, fmt.Errorf("exec in docker task %q: task has exited", taskID)
	}
	c, err := d.client()
	if err != nil {
		return 0, err
	}
	created, err := c.ContainerExecCreate(ctx, h.containerID, container.ExecOptions{
		Cmd:          cmd,
		Tty:          tty,
		AttachStdin:  streams.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return 0, fmt.Errorf("exec in docker task %q: %w", taskID, err)
	}
	resp, err := c.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: tty})
	if err != nil {
		return 0, fmt.Errorf("exec in docker task %q: attach: %w", taskID, err)
	}
	defer resp.Close()

	if tty && streams.Resize != nil {
		resizeCtx, stopResizes := context.WithCancel(ctx)
		defer stopResizes()
		go forwardResizes(resizeCtx, c, created.ID, streams.Resize)
	}
	if streams.Stdin != nil {
		go func() {
			_, _ = io.Copy(resp.Conn, streams.Stdin)
			_ = resp.CloseWrite()
		}()
	}
	stdout, stderr := writerOrDiscard(streams.Stdout), writerOrDiscard(streams.Stderr)
	outDone := make(chan error, 1)
	go func() {
		var err error
		if tty {
			_, err = io.Copy(stdout, resp.Reader)
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, resp.Reader)
		}
		outDone <- err
	}()
	select {
	case err := <-outDone:
		if err != nil {
			return 0, fmt.Errorf("exec in docker task %q: copy output: %w", taskID, err)
		}
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return execExitCode(ctx, c, created.ID)
}

// execExitCode waits for the exec to be reported finished and returns its
// exit code; the output stream can close a moment before that.
func execExitCode(ctx context.Context, c *client.Client, execID string) (int, error) {
	for {
		inspect, err := c.ContainerExecInspect(ctx, execID)
		if err != nil {
			return 0, fmt.Errorf("inspect exec %s: %w", execID, err)
		}
		if !inspect.Running {
			return inspect.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func forwardResizes(ctx context.Context, c *client.Client, execID string, sizes <-chan drivers.TerminalSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case size, ok := <-sizes:
			if !ok {
				return
			}
			_ = c.ContainerExecResize(ctx, execID, container.ResizeOptions{Height: uint(size.Height), Width: uint(size.Width)})
		}
	}
}

func writerOrDiscard(w interface{ Write([]byte) (int, error) }) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
