package docker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/roam-project/roam/drivers"
)

// labelPauseAlloc marks a pause container with the allocation whose network
// namespace it holds; it is not a task's, so the dangling-container
// reconciler leaves it alone.
const labelPauseAlloc = "com.roam-project.pause.alloc_id"

var _ drivers.NetworkCreator = (*Driver)(nil)

// pauseName is the pause container's name, as Nomad's nomad_init_<alloc>.
func pauseName(allocID string) string { return "roam_init_" + allocID }

// CreateNetwork starts (or finds) the allocation's pause container, whose
// network namespace (loopback only) the allocation's tasks share; the
// client then wires it to the bridge.
func (d *Driver) CreateNetwork(allocID string, spec drivers.NetworkSpec) (*drivers.NetworkIsolation, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(d.ctx, createTimeout)
	defer cancel()
	name := pauseName(allocID)
	if info, err := c.ContainerInspect(ctx, name); err == nil {
		if info.State != nil && info.State.Running {
			return pauseIsolation(info.ID, info.State.Pid, spec), nil
		}
		if err := c.ContainerRemove(ctx, name, container.RemoveOptions{Force: true}); err != nil {
			return nil, fmt.Errorf("remove stopped pause container %s: %w", name, err)
		}
	} else if !client.IsErrNotFound(err) {
		return nil, fmt.Errorf("inspect pause container %s: %w", name, err)
	}
	if err := ensurePauseImage(ctx, c); err != nil {
		return nil, err
	}
	cfg := &container.Config{Image: pauseImage, Hostname: spec.Hostname, Labels: map[string]string{labelPauseAlloc: allocID}}
	host := &container.HostConfig{
		NetworkMode: "none", DNS: spec.DNSServers, DNSSearch: spec.DNSSearches, DNSOptions: spec.DNSOptions,
	}
	created, err := c.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		return nil, fmt.Errorf("create pause container %s: %w", name, err)
	}
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		_ = c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
		return nil, fmt.Errorf("start pause container %s: %w", name, err)
	}
	info, err := c.ContainerInspect(ctx, created.ID)
	if err != nil || info.State == nil || info.State.Pid == 0 {
		return nil, fmt.Errorf("pause container %s is not running: %v", name, err)
	}
	d.logger.Info("started pause container", "alloc_id", allocID, "container_id", created.ID)
	return pauseIsolation(created.ID, info.State.Pid, spec), nil
}

func pauseIsolation(id string, pid int, spec drivers.NetworkSpec) *drivers.NetworkIsolation {
	return &drivers.NetworkIsolation{
		Path:     "/proc/" + strconv.Itoa(pid) + "/ns/net",
		Hostname: spec.Hostname,
		Labels:   map[string]string{drivers.SandboxContainerLabel: id},
	}
}

// DestroyNetwork removes the allocation's pause container, if any.
func (d *Driver) DestroyNetwork(allocID string) error {
	c, err := d.client()
	if err != nil {
		return err
	}
	err = c.ContainerRemove(context.Background(), pauseName(allocID), container.RemoveOptions{Force: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove pause container of alloc %s: %w", allocID, err)
	}
	return nil
}

// joinSandbox makes a task's container join its allocation's pause
// container's namespace. Docker refuses hostname, DNS and published ports
// on such a container: the pause container holds the first two and the
// client maps the ports into the namespace.
func joinSandbox(task *drivers.TaskConfig, spec *containerSpec) {
	if task.Network == nil || task.Network.Labels[drivers.SandboxContainerLabel] == "" {
		return
	}
	spec.host.NetworkMode = container.NetworkMode("container:" + task.Network.Labels[drivers.SandboxContainerLabel])
	spec.host.PortBindings, spec.config.ExposedPorts = nil, nil
	spec.host.DNS, spec.host.DNSSearch, spec.host.DNSOptions = nil, nil, nil
	spec.config.Hostname, spec.host.ExtraHosts = "", nil
	spec.network = nil
}
