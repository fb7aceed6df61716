// Package nvidia is the device plugin for NVIDIA GPUs, on NVML through
// github.com/NVIDIA/go-nvml. The library (libnvidia-ml.so.1, installed with
// the driver) is loaded at run time, so that a machine without it, or a
// binary built without cgo, fingerprints no GPU and says why instead of
// failing. GPUs are grouped by model as Nomad's nvidia plugin groups them
// ("nvidia/gpu/<model>"), each instance named by its UUID, with the
// attributes Nomad's plugin reports; MIG instances appear as their own
// instances when MIG is enabled on their GPU.
package nvidia

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/devices"
)

// Vendor and device type of every group this plugin reports.
const (
	Vendor     = "nvidia"
	DeviceType = "gpu"
)

// gpu is one GPU or MIG instance as NVML describes it.
type gpu struct {
	UUID, Model, PCIBusID string
	// Minor is the /dev/nvidia<minor> node of the GPU, or of the MIG
	// instance's parent.
	Minor int
	// MIG instance's capability device minors (/dev/nvidia-caps/nvidia-cap<N>).
	CapMinors               []int
	MemoryMiB, BAR1MiB      uint64
	PowerW                  uint64
	CoresMHz, MemoryMHz     uint64
	PCIBandwidthMBs         uint64
	ComputeCapability       string
	DisplayState, Persisted string
	// Healthy is false when NVML fails to answer for the device; Problem
	// says why.
	Healthy bool
	Problem string
}

// sample is one instance's usage at one moment.
type sample struct {
	UUID, Model                   string
	GPUUtil, MemoryUtil           uint32
	MemoryUsedMiB, MemoryTotalMiB uint64
	TemperatureC                  uint32
	PowerW                        float64
	HaveUtil, HaveTemp, HavePower bool
	Time                          time.Time
}

// Plugin finds NVIDIA GPUs through NVML. Its zero value is not usable: use
// New.
type Plugin struct {
	nvml *nvmlSession

	mu sync.Mutex
	// known holds the GPUs of the last fingerprint by UUID, for Reserve.
	known map[string]gpu
}

// New returns the plugin; NVML is loaded on the first fingerprint.
func New() *Plugin {
	return &Plugin{nvml: &nvmlSession{}, known: map[string]gpu{}}
}

// Name implements devices.Plugin.
func (p *Plugin) Name() string { return Vendor }

// Fingerprint implements devices.Plugin: it queries every GPU and groups
// them by model. A machine without NVML gives no groups and the reason.
func (p *Plugin) Fingerprint(ctx context.Context) ([]*api.NodeDeviceResource, error) {
	gpus, driver, err := p.nvml.query()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.known = make(map[string]gpu, len(gpus))
	for _, g := range gpus {
		p.known[g.UUID] = g
	}
	p.mu.Unlock()
	if len(gpus) == 0 {
		return nil, fmt.Errorf("NVML (driver %s) reports no GPUs", driver)
	}
	return groups(gpus, driver), nil
}

// groups builds one device group per model.
func groups(gpus []gpu, driver string) []*api.NodeDeviceResource {
	byModel := map[string]*api.NodeDeviceResource{}
	var out []*api.NodeDeviceResource
	for _, g := range gpus {
		grp, ok := byModel[g.Model]
		if !ok {
			grp = &api.NodeDeviceResource{Vendor: Vendor, Type: DeviceType, Name: g.Model, Attributes: attributes(g, driver)}
			byModel[g.Model] = grp
			out = append(out, grp)
		}
		grp.Instances = append(grp.Instances, &api.NodeDevice{
			ID: g.UUID, Healthy: g.Healthy, HealthDescription: g.Problem,
			Locality: &api.NodeDeviceLocality{PciBusID: g.PCIBusID},
		})
	}
	for _, grp := range out {
		slices.SortFunc(grp.Instances, func(a, b *api.NodeDevice) int { return strings.Compare(a.ID, b.ID) })
	}
	return out
}

// attributes are a group's attributes, named and with the units Nomad's
// nvidia plugin gives them.
func attributes(g gpu, driver string) map[string]*api.Attribute {
	a := map[string]*api.Attribute{
		"memory":         intAttr(g.MemoryMiB, "MiB"),
		"bar1":           intAttr(g.BAR1MiB, "MiB"),
		"power":          intAttr(g.PowerW, "W"),
		"cores_clock":    intAttr(g.CoresMHz, "MHz"),
		"memory_clock":   intAttr(g.MemoryMHz, "MHz"),
		"pci_bandwidth":  intAttr(g.PCIBandwidthMBs, "MB/s"),
		"driver_version": stringAttr(driver),
	}
	if g.ComputeCapability != "" {
		a["cuda_compute_capability"] = stringAttr(g.ComputeCapability)
	}
	if g.DisplayState != "" {
		a["display_state"] = stringAttr(g.DisplayState)
	}
	if g.Persisted != "" {
		a["persistence_mode"] = stringAttr(g.Persisted)
	}
	for k, v := range a {
		if v.IntVal != nil && *v.IntVal == 0 {
			delete(a, k) // NVML did not tell
		}
	}
	return a
}

func intAttr(v uint64, unit string) *api.Attribute {
	i := int64(v)
	return &api.Attribute{IntVal: &i, Unit: unit}
}

func stringAttr(s string) *api.Attribute { return &api.Attribute{StringVal: &s} }

// Reserve implements devices.Plugin: the task sees exactly its GPUs,
// through the NVIDIA container runtime's NVIDIA_VISIBLE_DEVICES and CUDA's
// CUDA_VISIBLE_DEVICES (both take UUIDs), and may open their device nodes
// and the driver's shared control nodes.
func (p *Plugin) Reserve(ids []string) (*devices.Reservation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &devices.Reservation{Env: map[string]string{
		"NVIDIA_VISIBLE_DEVICES": strings.Join(ids, ","),
		"CUDA_VISIBLE_DEVICES":   strings.Join(ids, ","),
	}}
	seen := map[string]bool{}
	add := func(path string) {
		if !seen[path] {
			seen[path] = true
			r.Devices = append(r.Devices, devices.DeviceNode{HostPath: path, TaskPath: path, Permissions: "rw"})
		}
	}
	for _, id := range ids {
		g, ok := p.known[id]
		if !ok {
			return nil, fmt.Errorf("no NVIDIA device %s on this node", id)
		}
		add(fmt.Sprintf("/dev/nvidia%d", g.Minor))
		for _, m := range g.CapMinors {
			add(fmt.Sprintf("/dev/nvidia-caps/nvidia-cap%d", m))
		}
	}
	for _, path := range controlNodes {
		if _, err := os.Stat(path); err == nil {
			add(path)
		}
	}
	return r, nil
}

// controlNodes are the driver's device nodes every CUDA process opens.
var controlNodes = []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"}

// Stats implements devices.Plugin with the statistics Nomad's nvidia
// plugin reports.
func (p *Plugin) Stats(ctx context.Context) ([]*api.DeviceGroupStats, error) {
	samples, err := p.nvml.sample()
	if err != nil {
		return nil, err
	}
	return groupStats(samples), nil
}

// groupStats arranges samples by model, the memory state as the summary.
func groupStats(samples []sample) []*api.DeviceGroupStats {
	byModel := map[string]*api.DeviceGroupStats{}
	var out []*api.DeviceGroupStats
	for _, s := range samples {
		g, ok := byModel[s.Model]
		if !ok {
			g = &api.DeviceGroupStats{Vendor: Vendor, Type: DeviceType, Name: s.Model, InstanceStats: map[string]*api.DeviceStats{}}
			byModel[s.Model] = g
			out = append(out, g)
		}
		memory := fraction(s.MemoryUsedMiB, s.MemoryTotalMiB, "MiB", "UsedMemory / TotalMemory")
		attrs := map[string]*api.StatValue{"Memory state": memory}
		if s.HaveUtil {
			attrs["GPU utilization"] = scalar(float64(s.GPUUtil), "%", "GPU utilization")
			attrs["Memory utilization"] = scalar(float64(s.MemoryUtil), "%", "Memory utilization")
		}
		if s.HaveTemp {
			attrs["Temperature"] = scalar(float64(s.TemperatureC), "C", "Temperature of the unit")
		}
		if s.HavePower {
			attrs["Power usage"] = scalar(s.PowerW, "W", "Power usage")
		}
		g.InstanceStats[s.UUID] = &api.DeviceStats{Summary: memory, Stats: &api.StatObject{Attributes: attrs}, Timestamp: s.Time}
	}
	return out
}

func fraction(num, den uint64, unit, desc string) *api.StatValue {
	n, d := int64(num), int64(den)
	return &api.StatValue{IntNumeratorVal: &n, IntDenominatorVal: &d, Unit: unit, Desc: desc}
}

func scalar(v float64, unit, desc string) *api.StatValue {
	return &api.StatValue{FloatNumeratorVal: &v, Unit: unit, Desc: desc}
}

// pcieLaneMBs is one lane's bandwidth per PCIe generation, in MB/s.
var pcieLaneMBs = map[int]uint64{1: 250, 2: 500, 3: 985, 4: 1969, 5: 3938, 6: 7563}

// capMinor reads the device minor of a MIG capability from the driver's
// /proc file ("DeviceFileMinor: 12").
func capMinor(procPath string) (int, bool) {
	data, err := os.ReadFile(procPath)
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		var m int
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "DeviceFileMinor: %d", &m); err == nil {
			return m, true
		}
	}
	return 0, false
}

// migCapMinors are the capability minors a MIG instance's processes need:
// its GPU instance's and its compute instance's access files.
func migCapMinors(parentMinor, gi, ci int) []int {
	base := filepath.Join("/proc/driver/nvidia/capabilities", fmt.Sprintf("gpu%d", parentMinor), "mig", fmt.Sprintf("gi%d", gi))
	var out []int
	for _, p := range []string{filepath.Join(base, "access"), filepath.Join(base, fmt.Sprintf("ci%d", ci), "access")} {
		if m, ok := capMinor(p); ok {
			out = append(out, m)
		}
	}
	return out
}

var _ devices.Plugin = (*Plugin)(nil)
