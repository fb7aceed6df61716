package taskrunner

import (
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
)

// volumeHook binds the task's `volume_mount`s of host volumes: the
// group's volume names a host volume of this node, whose path the driver
// mounts at the destination. A mount is read-only when the node's volume,
// the group's volume or the mount says so.
type volumeHook struct{}

func (volumeHook) Name() string { return "volumes" }

func (volumeHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	tr.mu.Lock()
	alloc := tr.alloc
	tr.mu.Unlock()
	if len(tr.cfg.Task.VolumeMounts) == 0 || alloc.Job == nil {
		return nil
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return nil
	}
	for i, vm := range tr.cfg.Task.VolumeMounts {
		if vm == nil || vm.Volume == nil {
			continue
		}
		req, ok := tg.Volumes[*vm.Volume]
		if !ok || req == nil {
			return fmt.Errorf("volume_mount %d: the group has no volume %q", i, *vm.Volume)
		}
		if req.Type != "host" {
			return fmt.Errorf("volume %q: type %q volumes are not supported", req.Name, req.Type)
		}
		var hv *api.HostVolumeInfo
		if tr.cfg.Node != nil {
			hv = tr.cfg.Node.HostVolumes[req.Source]
		}
		if hv == nil {
			return fmt.Errorf("volume %q: this node has no host volume %q", req.Name, req.Source)
		}
		readOnly := hv.ReadOnly || req.ReadOnly || (vm.ReadOnly != nil && *vm.ReadOnly)
		m := drivers.Mount{HostPath: hv.Path, TaskPath: deref(vm.Destination), ReadOnly: readOnly, PropagationMode: deref(vm.PropagationMode)}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	return nil
}
