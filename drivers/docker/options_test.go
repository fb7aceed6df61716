package docker

import (
	"context"
	"slices"
	"testing"
)

// TestStartWithOptions starts a container with the less common config keys
// set and checks the engine applied them.
func TestStartWithOptions(t *testing.T) {
	c := requireEngine(t)
	d := newTestDriver(t)
	task := newTask(t, d, "opts", map[string]any{
		"cpu_hard_limit": true, "oom_score_adj": 200, "group_add": []any{"1234"},
		"healthchecks": map[string]any{"disable": true}, "pids_limit": 64, "shm_size": 8 << 20,
		"sysctl":   map[string]any{"net.core.somaxconn": "512"},
		"devices":  []any{map[string]any{"host_path": "/dev/null", "container_path": "/dev/void", "cgroup_permissions": "rw"}},
		"cgroupns": "private", "readonly_rootfs": true, "isolation": "process",
	})
	if _, err := d.StartTask(task); err != nil {
		t.Fatal(err)
	}
	inspect, err := c.ContainerInspect(context.Background(), containerName(task))
	if err != nil {
		t.Fatal(err)
	}
	h := inspect.HostConfig
	if h.OomScoreAdj != 200 || !slices.Equal(h.GroupAdd, []string{"1234"}) || !h.ReadonlyRootfs || h.ShmSize != 8<<20 {
		t.Errorf("host config: oom %d group_add %q readonly %v shm %d", h.OomScoreAdj, h.GroupAdd, h.ReadonlyRootfs, h.ShmSize)
	}
	if r := h.Resources; r.CPUQuota != cpuQuota(100, defaultCPUCFSPeriod) || r.CPUPeriod != defaultCPUCFSPeriod || *r.PidsLimit != 64 {
		t.Errorf("resources: quota %d period %d pids %v", r.CPUQuota, r.CPUPeriod, r.PidsLimit)
	}
	if len(h.Resources.Devices) != 1 || h.Resources.Devices[0].PathInContainer != "/dev/void" {
		t.Errorf("devices = %+v", h.Resources.Devices)
	}
	if h.Sysctls["net.core.somaxconn"] != "512" || string(h.CgroupnsMode) != "private" {
		t.Errorf("sysctls = %v cgroupns = %q", h.Sysctls, h.CgroupnsMode)
	}
	if hc := inspect.Config.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"NONE"}) {
		t.Errorf("healthcheck = %+v", hc)
	}
}
