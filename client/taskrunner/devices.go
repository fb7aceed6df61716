package taskrunner

import (
	"errors"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/devices"
	"github.com/roam-project/roam/drivers"
)

// DeviceReserver says what a task needs to use the device instances the
// scheduler gave it.
type DeviceReserver interface {
	Reserve(allocated []*api.AllocatedDeviceResource) (*devices.Reservation, error)
}

// errNoDevicePlugins is the failure of a task given devices on a client
// that runs no device plugins.
var errNoDevicePlugins = errors.New("the task was given devices but this client runs no device plugins")

// deviceHook hands the task its devices: the plugins' environment
// (NVIDIA_VISIBLE_DEVICES), device nodes and mounts.
type deviceHook struct{}

func (deviceHook) Name() string { return "devices" }

func (deviceHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	tr.mu.Lock()
	alloc := tr.alloc
	tr.mu.Unlock()
	var allocated []*api.AllocatedDeviceResource
	if ar := alloc.AllocatedResources; ar != nil {
		if t := ar.Tasks[tr.cfg.Task.Name]; t != nil {
			allocated = t.Devices
		}
	}
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
