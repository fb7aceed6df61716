package docker

import (
	"testing"

	"github.com/docker/docker/api/types/mount"

	"github.com/roam-project/roam/drivers"
)

// TestHostVolumesAndDevicesInSpec checks how a task's host volumes and
// devices reach the container: bind mounts with their propagation, NVIDIA
// GPUs as a device request for the container toolkit, other devices as
// device mappings.
func TestHostVolumesAndDevicesInSpec(t *testing.T) {
	task := specTask(drivers.Resources{Devices: []drivers.Device{{Vendor: "nvidia", Type: "gpu", Name: "T4", IDs: []string{"GPU-a"}}}})
	task.Mounts = []drivers.Mount{
		{HostPath: "/srv/pg", TaskPath: "/data", ReadOnly: false},
		{HostPath: "/srv/certs", TaskPath: "/certs", ReadOnly: true, PropagationMode: "host-to-task"},
	}
	task.DeviceNodes = []drivers.DeviceNode{
		{HostPath: "/dev/nvidia0", TaskPath: "/dev/nvidia0", Permissions: "rw"},
		{HostPath: "/dev/fpga0", TaskPath: "/dev/fpga0", Permissions: "rw"},
	}
	cfg, err := parseTaskConfig(map[string]any{"image": "app"})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := buildContainerSpec(task, cfg, defaultPluginConfig())
	if err != nil {
		t.Fatal(err)
	}
	var binds []mount.Mount
	for _, m := range spec.host.Mounts {
		if m.Type == mount.TypeBind {
			binds = append(binds, m)
		}
	}
	if len(binds) != 2 || binds[0].Source != "/srv/pg" || binds[0].Target != "/data" || binds[0].ReadOnly ||
		binds[1].Target != "/certs" || !binds[1].ReadOnly || binds[1].BindOptions.Propagation != mount.PropagationRSlave {
		t.Fatalf("bind mounts = %+v", binds)
	}
	reqs := spec.host.DeviceRequests
	if len(reqs) != 1 || reqs[0].Driver != "nvidia" || len(reqs[0].DeviceIDs) != 1 || reqs[0].DeviceIDs[0] != "GPU-a" || reqs[0].Capabilities[0][0] != "gpu" {
		t.Fatalf("device requests = %+v", reqs)
	}
	if d := spec.host.Resources.Devices; len(d) != 1 || d[0].PathOnHost != "/dev/fpga0" {
		t.Fatalf("device mappings = %+v, want only the non-NVIDIA node", d)
	}
}
