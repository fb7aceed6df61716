package docker

import (
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/roam-project/roam/drivers"
)

// nvidiaVendor is the vendor of devices handed to containers through the
// NVIDIA container toolkit's device driver rather than as device nodes.
const nvidiaVendor = "nvidia"

// propagations maps a volume_mount's propagation_mode to Docker's.
var propagations = map[string]mount.Propagation{
	"":              mount.PropagationRPrivate,
	"private":       mount.PropagationRPrivate,
	"host-to-task":  mount.PropagationRSlave,
	"bidirectional": mount.PropagationRShared,
}

// clientMounts are the bind mounts the client granted the task (its host
// volumes): they need no `volumes { enabled = true }`, as in Nomad.
func clientMounts(task *drivers.TaskConfig) []mount.Mount {
	var out []mount.Mount
	for _, m := range task.Mounts {
		out = append(out, mount.Mount{
			Type: mount.TypeBind, Source: m.HostPath, Target: m.TaskPath, ReadOnly: m.ReadOnly,
			BindOptions: &mount.BindOptions{Propagation: propagations[m.PropagationMode]},
		})
	}
	return out
}

// applyDevices hands the container its allocated devices: NVIDIA GPUs
// through a device request to the NVIDIA container toolkit (as
// `docker run --gpus device=UUID` does), other vendors' through their
// device nodes.
func applyDevices(task *drivers.TaskConfig, host *container.HostConfig) {
	nvidia := false
	for _, d := range task.Resources.Devices {
		if d.Vendor == nvidiaVendor && len(d.IDs) > 0 {
			nvidia = true
			host.DeviceRequests = append(host.DeviceRequests, container.DeviceRequest{
				Driver: nvidiaVendor, DeviceIDs: d.IDs, Capabilities: [][]string{{"gpu"}},
			})
		}
	}
	for _, n := range task.DeviceNodes {
		if nvidia && isNvidiaNode(n.HostPath) {
			continue // the toolkit maps them
		}
		host.Resources.Devices = append(host.Resources.Devices, container.DeviceMapping{
			PathOnHost: n.HostPath, PathInContainer: n.TaskPath, CgroupPermissions: n.Permissions,
		})
	}
}

func isNvidiaNode(path string) bool {
	return strings.HasPrefix(path, "/dev/nvidia")
}
