// Package devices is the client's device layer: a Plugin finds one
// vendor's devices on the machine (Fingerprint), samples their usage and
// health (Stats), and says what a task needs in order to use the instances
// the scheduler gave it (Reserve). A Manager runs the plugins and merges
// what they report into the node's NodeResources.Devices, as Nomad's device
// plugins do. The names and attributes of device requests are matched here
// too, so that the scheduler and the client read them the same way.
package devices

import (
	"context"

	"github.com/hashicorp/nomad/api"
)

// Plugin is one vendor's devices on this machine.
type Plugin interface {
	// Name is the plugin's name, used in logs ("nvidia").
	Name() string
	// Fingerprint lists the device groups the plugin finds, each with its
	// instances' health. A machine without the vendor's devices or
	// libraries gives no groups and an error saying why.
	Fingerprint(ctx context.Context) ([]*api.NodeDeviceResource, error)
	// Stats samples every instance's usage.
	Stats(ctx context.Context) ([]*api.DeviceGroupStats, error)
	// Reserve says what a task needs to use the instances with these IDs,
	// all of one group the plugin fingerprinted.
	Reserve(ids []string) (*Reservation, error)
}

// Reservation is what a task is given to use its devices: environment
// variables, device nodes and host paths to mount.
type Reservation struct {
	Env     map[string]string
	Devices []DeviceNode
	Mounts  []Mount
}

// DeviceNode is a host device node a task may open.
type DeviceNode struct {
	HostPath, TaskPath string
	// Permissions is a cgroup access string: a combination of r, w, m.
	Permissions string
}

// Mount is a host path bound into the task.
type Mount struct {
	HostPath, TaskPath string
	ReadOnly           bool
}

// merge adds other's environment, device nodes and mounts to r.
func (r *Reservation) merge(other *Reservation) {
	if other == nil {
		return
	}
	if r.Env == nil {
		r.Env = map[string]string{}
	}
	for k, v := range other.Env {
		r.Env[k] = v
	}
	r.Devices = append(r.Devices, other.Devices...)
	r.Mounts = append(r.Mounts, other.Mounts...)
}
