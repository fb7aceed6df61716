package nvidia

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/devices"
)

// TestFingerprintWithoutNVML loads the real NVML on a machine that has
// none: the plugin reports no GPU and says why.
func TestFingerprintWithoutNVML(t *testing.T) {
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/lib/aarch64-linux-gnu"} {
		if _, err := os.Stat(filepath.Join(dir, "libnvidia-ml.so.1")); err == nil {
			t.Skip("this machine has NVML; scripts/gpu-check tests it")
		}
	}
	groups, err := New().Fingerprint(context.Background())
	if len(groups) != 0 {
		t.Fatalf("groups = %+v, want none", groups)
	}
	if err == nil || !(strings.Contains(err.Error(), "libnvidia-ml.so.1") || strings.Contains(err.Error(), "cgo")) {
		t.Fatalf("error = %v, want the missing library named", err)
	}
}

// TestGroups checks how NVML's answers become device groups: one per
// model, instances by UUID, attributes named as Nomad's plugin names them.
func TestGroups(t *testing.T) {
	gpus := []gpu{
		{UUID: "GPU-b", Model: "NVIDIA H100 80GB HBM3", PCIBusID: "00000000:19:00.0", MemoryMiB: 81559, PowerW: 700,
			BAR1MiB: 131072, CoresMHz: 1980, MemoryMHz: 2619, PCIBandwidthMBs: 63008, ComputeCapability: "9.0",
			DisplayState: "Disabled", Persisted: "Enabled", Healthy: true},
		{UUID: "GPU-a", Model: "NVIDIA H100 80GB HBM3", PCIBusID: "00000000:18:00.0", MemoryMiB: 81559, Healthy: false, Problem: "NVML memory info: ERROR_GPU_IS_LOST"},
		{UUID: "MIG-c", Model: "NVIDIA A100-SXM4-40GB MIG 1g.5gb", MemoryMiB: 4864, Healthy: true},
	}
	got := groups(gpus, "550.54.15")
	if len(got) != 2 {
		t.Fatalf("groups = %d, want 2", len(got))
	}
	h100 := got[0]
	if devices.GroupID(h100) != "nvidia/gpu/NVIDIA H100 80GB HBM3" || len(h100.Instances) != 2 || h100.Instances[0].ID != "GPU-a" {
		t.Fatalf("H100 group = %+v", h100)
	}
	if h100.Instances[0].Healthy || h100.Instances[0].HealthDescription == "" || h100.Instances[1].Locality.PciBusID != "00000000:19:00.0" {
		t.Fatalf("instances = %+v, %+v", h100.Instances[0], h100.Instances[1])
	}
	want := map[string]string{
		"memory": "81559 MiB", "power": "700 W", "bar1": "131072 MiB", "cores_clock": "1980 MHz",
		"memory_clock": "2619 MHz", "pci_bandwidth": "63008 MB/s", "driver_version": "550.54.15",
		"cuda_compute_capability": "9.0", "display_state": "Disabled", "persistence_mode": "Enabled",
	}
	for k, v := range want {
		if got := devices.FormatAttribute(h100.Attributes[k]); got != v {
			t.Errorf("attribute %s = %q, want %q", k, got, v)
		}
	}
}

func TestGroupStats(t *testing.T) {
	stats := groupStats([]sample{{UUID: "GPU-a", Model: "T4", MemoryUsedMiB: 100, MemoryTotalMiB: 15360,
		GPUUtil: 42, HaveUtil: true, TemperatureC: 51, HaveTemp: true, PowerW: 27.5, HavePower: true}})
	s := stats[0].InstanceStats["GPU-a"]
	if s.Summary.String() != "100 / 15360 MiB" {
		t.Fatalf("summary = %q", s.Summary.String())
	}
	for name, want := range map[string]string{"GPU utilization": "42 %", "Temperature": "51 C", "Power usage": "27.5 W"} {
		if got := s.Stats.Attributes[name].String(); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestCapMinor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access")
	if err := os.WriteFile(path, []byte("DeviceFileMinor: 12\nDeviceFileMode: 292\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, ok := capMinor(path); !ok || m != 12 {
		t.Fatalf("capMinor = %d, %v", m, ok)
	}
}
