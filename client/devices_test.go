package client

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/devices"
)

// fixtureGPUs is a device plugin that reports fixed GPUs, for the client's
// handling of devices above any vendor library.
type fixtureGPUs struct{}

func (fixtureGPUs) Name() string { return "fixture" }

func (fixtureGPUs) Fingerprint(context.Context) ([]*api.NodeDeviceResource, error) {
	return []*api.NodeDeviceResource{{Vendor: "nvidia", Type: "gpu", Name: "Fixture 80GB",
		Instances: []*api.NodeDevice{{ID: "GPU-0", Healthy: true}, {ID: "GPU-1", Healthy: true}}}}, nil
}

func (fixtureGPUs) Stats(context.Context) ([]*api.DeviceGroupStats, error) { return nil, nil }

func (fixtureGPUs) Reserve(ids []string) (*devices.Reservation, error) {
	return &devices.Reservation{Env: map[string]string{"NVIDIA_VISIBLE_DEVICES": strings.Join(ids, ",")}}, nil
}

// TestDevicesAndVolumesReachTask checks that the node reports the plugin's
// devices and its host volumes, and that a task gets the reservation of
// its allocated devices and finds its host volume.
func TestDevicesAndVolumesReachTask(t *testing.T) {
	servers := clienttest.NewServers()
	volume := t.TempDir()
	if err := os.WriteFile(filepath.Join(volume, "data.txt"), []byte("on-the-volume"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startClientWith(t, servers, t.TempDir(), func(c *Config) {
		c.DevicePlugins = []devices.Plugin{fixtureGPUs{}}
		c.HostVolumes = map[string]HostVolume{"shared": {Path: volume}}
	})
	node := servers.Node(h.client.Node().ID)
	if len(node.NodeResources.Devices) != 1 || len(node.NodeResources.Devices[0].Instances) != 2 {
		t.Fatalf("registered devices = %+v", node.NodeResources.Devices)
	}
	if hv := node.HostVolumes["shared"]; hv == nil || hv.Path != volume {
		t.Fatalf("registered host volumes = %+v", node.HostVolumes)
	}
	task := clienttest.ShellTask("web", `echo "gpus=$NVIDIA_VISIBLE_DEVICES"; cat data/data.txt`)
	task.VolumeMounts = []*api.VolumeMount{{Volume: new("v"), Destination: new("/data")}}
	alloc := clienttest.Alloc(node.ID, "batch", task)
	alloc.Job.TaskGroups[0].Volumes = map[string]*api.VolumeRequest{"v": {Name: "v", Type: "host", Source: "shared"}}
	alloc.AllocatedResources.Tasks["web"].Devices = []*api.AllocatedDeviceResource{
		{Vendor: "nvidia", Type: "gpu", Name: "Fixture 80GB", DeviceIDs: []string{"GPU-1"}}}
	servers.PutAlloc(alloc)
	h.waitStatus(alloc.ID, "complete")
	log := h.waitLog(alloc.ID, "web", "on-the-volume")
	if !strings.Contains(log, "gpus=GPU-1\n") {
		t.Fatalf("task output %q lacks its GPU", log)
	}
}

func TestMissingHostVolumePath(t *testing.T) {
	dir := t.TempDir()
	_, err := New(&Config{StateDir: filepath.Join(dir, "client"), AllocDir: filepath.Join(dir, "alloc"), NetworkInterface: "lo",
		HostVolumes: map[string]HostVolume{"data": {Path: filepath.Join(dir, "nope")}}}, clienttest.NewServers())
	if err == nil || !strings.Contains(err.Error(), `host_volume "data"`) {
		t.Fatalf("New = %v, want an error naming the host volume", err)
	}
}

// TestStickyDiskCarriedOver checks that a replacement of an allocation
// whose ephemeral disk is sticky starts with the previous allocation's
// alloc/data and task local/ directories, once the previous one stopped.
func TestStickyDiskCarriedOver(t *testing.T) {
	servers := clienttest.NewServers()
	h := startClient(t, servers, t.TempDir())
	sticky := func(a *api.Allocation) *api.Allocation {
		a.Job.TaskGroups[0].EphemeralDisk = &api.EphemeralDisk{Sticky: new(true)}
		return a
	}
	first := sticky(clienttest.Alloc(h.client.Node().ID, "service", clienttest.ShellTask("web",
		`echo shared > "$NOMAD_ALLOC_DIR/data/kept" && echo own > "$NOMAD_TASK_DIR/kept" && echo written && sleep 300`)))
	servers.PutAlloc(first)
	h.waitLog(first.ID, "web", "written")
	second := sticky(clienttest.Alloc(h.client.Node().ID, "service", clienttest.ShellTask("web",
		`cat "$NOMAD_ALLOC_DIR/data/kept" "$NOMAD_TASK_DIR/kept"; echo read; sleep 300`)))
	second.PreviousAllocation = first.ID
	servers.StopAlloc(first.ID)
	servers.PutAlloc(second)
	log := h.waitLog(second.ID, "web", "read")
	if log != "shared\nown\nread\n" {
		t.Fatalf("replacement read %q, want the previous allocation's files", log)
	}
}

// TestUnhealthyDeviceReported checks that a task whose GPU turns unhealthy
// gets an event naming the device and the reason.
func TestUnhealthyDeviceReported(t *testing.T) {
	servers := clienttest.NewServers()
	h := startClientWith(t, servers, t.TempDir(), func(c *Config) { c.DevicePlugins = []devices.Plugin{fixtureGPUs{}} })
	task := clienttest.ShellTask("web", `echo up; sleep 300`)
	alloc := clienttest.Alloc(h.client.Node().ID, "service", task)
	alloc.AllocatedResources.Tasks["web"].Devices = []*api.AllocatedDeviceResource{
		{Vendor: "nvidia", Type: "gpu", Name: "Fixture 80GB", DeviceIDs: []string{"GPU-1"}}}
	servers.PutAlloc(alloc)
	h.waitLog(alloc.ID, "web", "up")
	old, _ := fixtureGPUs{}.Fingerprint(context.Background())
	fresh, _ := fixtureGPUs{}.Fingerprint(context.Background())
	fresh[0].Instances[1].Healthy, fresh[0].Instances[1].HealthDescription = false, "NVML memory info: ERROR_GPU_IS_LOST"
	h.client.reportDeviceHealth(old, fresh)
	waitFor(t, "the device event", func() bool {
		a := servers.Alloc(alloc.ID)
		if a == nil || a.TaskStates["web"] == nil {
			return false
		}
		ev := findEvent(a.TaskStates["web"], "Device Unhealthy")
		return ev != nil && strings.Contains(ev.DisplayMessage, "GPU-1") && strings.Contains(ev.DisplayMessage, "ERROR_GPU_IS_LOST")
	})
}
