package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/roam-project/roam/drivers"
)

// createTimeout bounds the engine calls that create and start a container
// (not the image pull, which has its own timeout).
const createTimeout = 2 * time.Minute

// handleState is the driver-private part of a TaskHandle.
type handleState struct {
	ContainerID string `json:"container_id"`
	ImageID     string `json:"image_id"`
}

// StartTask makes the image present, creates the container
// "<task>-<allocID>" with its labels, mounts, ports and limits, starts it
// and streams its output into the task's log files. On failure nothing is
// left behind.
func (d *Driver) StartTask(task *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if _, err := d.handle(task.ID); err == nil {
		return nil, fmt.Errorf("docker task %q is already started", task.ID)
	}
	tc, err := parseTaskConfig(task.Config)
	if err != nil {
		return nil, err
	}
	plugin := d.config()
	spec, err := buildContainerSpec(task, tc, plugin)
	if err != nil {
		return nil, fmt.Errorf("docker task %q: %w", task.ID, err)
	}
	for _, key := range spec.ignored {
		d.logger.Warn("ignoring docker config key", "task_id", task.ID, "key", key)
	}
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	imageID, err := d.ensureImage(d.ctx, c, task, tc)
	if err != nil {
		return nil, err
	}
	d.images.acquire(imageID)
	containerID, err := d.createAndStart(c, task, spec)
	if err != nil {
		d.images.release(imageID)
		return nil, err
	}
	h := newTaskHandle(d, task, containerID, imageID, tc.TTY)
	d.putHandle(h)
	h.run(time.Time{})
	state, err := json.Marshal(handleState{ContainerID: containerID, ImageID: imageID})
	if err != nil {
		return nil, fmt.Errorf("encode docker handle: %w", err)
	}
	d.logger.Info("started container", "task_id", task.ID, "container_id", containerID)
	return &drivers.TaskHandle{Driver: driverName, Config: task, StartedAt: h.startedAt, State: state}, nil
}

// createAndStart creates and starts the container, removing it again when
// it cannot start. A leftover container of the same name (from an earlier
// attempt) is replaced, trying up to container_exists_attempts times.
func (d *Driver) createAndStart(c *client.Client, task *drivers.TaskConfig, spec *containerSpec) (string, error) {
	ctx, cancel := context.WithTimeout(d.ctx, createTimeout)
	defer cancel()
	name := containerName(task)
	created, err := c.ContainerCreate(ctx, spec.config, spec.host, spec.network, nil, name)
	for attempt := 1; errdefs.IsConflict(err) && attempt <= spec.existsAttempts; attempt++ {
		d.logger.Warn("replacing leftover container", "name", name, "attempt", attempt)
		if rmErr := c.ContainerRemove(ctx, name, container.RemoveOptions{Force: true, RemoveVolumes: true}); rmErr != nil && attempt == spec.existsAttempts {
			return "", fmt.Errorf("remove leftover container %s: %w", name, rmErr)
		}
		created, err = c.ContainerCreate(ctx, spec.config, spec.host, spec.network, nil, name)
	}
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", name, err)
	}
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		rmErr := c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if rmErr != nil {
			d.logger.Warn("remove container that failed to start", "container_id", created.ID, "error", rmErr)
		}
		return "", fmt.Errorf("start container %s: %w", name, err)
	}
	return created.ID, nil
}
