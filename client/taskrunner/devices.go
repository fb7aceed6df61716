package taskrunner

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/devices"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/structs"
)

// DeviceReserver says what a task needs to use the device instances the
// scheduler gave it, and samples the node's devices.
type DeviceReserver interface {
	Reserve(allocated []*api.AllocatedDeviceResource) (*devices.Reservation, error)
	Stats(ctx context.Context) []*api.DeviceGroupStats
}

// allocatedDevices are the device instances the scheduler gave the task.
func (tr *TaskRunner) allocatedDevices() []*api.AllocatedDeviceResource {
	tr.mu.Lock()
	alloc := tr.alloc
	tr.mu.Unlock()
	if ar := alloc.AllocatedResources; ar != nil {
		if t := ar.Tasks[tr.cfg.Task.Name]; t != nil {
			return t.Devices
		}
	}
	return nil
}

// deviceStats samples the task's devices.
func (tr *TaskRunner) deviceStats(ctx context.Context) []*api.DeviceGroupStats {
	allocated := tr.allocatedDevices()
	if len(allocated) == 0 || tr.cfg.Devices == nil {
		return nil
	}
	return devices.StatsFor(tr.cfg.Devices.Stats(ctx), allocated)
}

// errNoDevicePlugins is the failure of a task given devices on a client
// that runs no device plugins.
var errNoDevicePlugins = errors.New("the task was given devices but this client runs no device plugins")

// deviceHook hands the task its devices: the plugins' environment
// (NVIDIA_VISIBLE_DEVICES), device nodes and mounts.
type deviceHook struct{}

func (deviceHook) Name() string { return "devices" }

func (deviceHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	allocated := tr.allocatedDevices()
	if len(allocated) == 0 {
		return nil
	}
	if tr.cfg.Devices == nil {
		return errNoDevicePlugins
	}
	r, err := tr.cfg.Devices.Reserve(allocated)
	if err != nil {
		return err
	}
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	for k, v := range r.Env {
		cfg.Env[k] = v
	}
	for _, d := range r.Devices {
		cfg.DeviceNodes = append(cfg.DeviceNodes, drivers.DeviceNode{HostPath: d.HostPath, TaskPath: d.TaskPath, Permissions: d.Permissions})
	}
	for _, m := range r.Mounts {
		cfg.Mounts = append(cfg.Mounts, drivers.Mount{HostPath: m.HostPath, TaskPath: m.TaskPath, ReadOnly: m.ReadOnly})
	}
	return nil
}

// TaskDeviceUnhealthy is the type of the event a task gets when one of its
// devices turns unhealthy.
const TaskDeviceUnhealthy = "Device Unhealthy"

// ReportUnhealthyDevices adds an event for each of the task's devices
// among those that turned unhealthy (keyed by structs.DeviceKey, with the
// reason).
func (tr *TaskRunner) ReportUnhealthyDevices(unhealthy map[string]string) {
	for _, d := range tr.allocatedDevices() {
		for _, id := range d.DeviceIDs {
			reason, ok := unhealthy[structs.DeviceKey(d.Vendor, d.Type, d.Name, id)]
			if !ok {
				continue
			}
			ev := newEvent(TaskDeviceUnhealthy, fmt.Sprintf("Device %s/%s/%s[%s] is unhealthy: %s", d.Vendor, d.Type, d.Name, id, reason))
			ev.Details["device_id"] = id
			tr.emit(ev, nil)
		}
	}
}
