//go:build linux && cgo

package nvidia

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvmlSession loads NVML on first use and keeps it loaded once it
// answered; while it cannot be loaded, each query tries again.
type nvmlSession struct {
	mu  sync.Mutex
	lib nvml.Interface
}

// open returns the loaded library, loading it when needed.
func (s *nvmlSession) open() (nvml.Interface, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lib != nil {
		return s.lib, nil
	}
	lib := nvml.New()
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			return nil, errors.New("NVML library libnvidia-ml.so.1 not found: no NVIDIA driver on this machine")
		}
		return nil, fmt.Errorf("initialise NVML: %v", ret)
	}
	s.lib = lib
	return lib, nil
}

// query describes every GPU, and every MIG instance of GPUs in MIG mode.
func (s *nvmlSession) query() ([]gpu, string, error) {
	lib, err := s.open()
	if err != nil {
		return nil, "", err
	}
	driver, ret := lib.SystemGetDriverVersion()
	if ret != nvml.SUCCESS {
		return nil, "", fmt.Errorf("NVML driver version: %v", ret)
	}
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, driver, fmt.Errorf("NVML device count: %v", ret)
	}
	var gpus []gpu
	for i := range count {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, driver, fmt.Errorf("NVML device %d: %v", i, ret)
		}
		parent := describe(dev)
		if mode, _, ret := dev.GetMigMode(); ret == nvml.SUCCESS && mode == nvml.DEVICE_MIG_ENABLE {
			gpus = append(gpus, migInstances(dev, parent)...)
			continue
		}
		gpus = append(gpus, parent)
	}
	return gpus, driver, nil
}

// describe reads one device's identity and attributes. A device whose
// UUID or memory NVML cannot read is unhealthy.
func describe(dev nvml.Device) gpu {
	g := gpu{Healthy: true}
	var ret nvml.Return
	if g.UUID, ret = dev.GetUUID(); ret != nvml.SUCCESS {
		g.Healthy, g.Problem = false, fmt.Sprintf("NVML UUID: %v", ret)
	}
	g.Model, _ = dev.GetName()
	if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
		g.MemoryMiB = mem.Total / (1 << 20)
	} else if g.Healthy {
		g.Healthy, g.Problem = false, fmt.Sprintf("NVML memory info: %v", ret)
	}
	if m, ret := dev.GetMinorNumber(); ret == nvml.SUCCESS {
		g.Minor = m
	}
	if pci, ret := dev.GetPciInfo(); ret == nvml.SUCCESS {
		g.PCIBusID = cString(pci.BusId[:])
	}
	if bar, ret := dev.GetBAR1MemoryInfo(); ret == nvml.SUCCESS {
		g.BAR1MiB = bar.Bar1Total / (1 << 20)
	}
	if mw, ret := dev.GetPowerManagementLimit(); ret == nvml.SUCCESS {
		g.PowerW = uint64(mw) / 1000
	}
	if mhz, ret := dev.GetMaxClockInfo(nvml.CLOCK_SM); ret == nvml.SUCCESS {
		g.CoresMHz = uint64(mhz)
	}
	if mhz, ret := dev.GetMaxClockInfo(nvml.CLOCK_MEM); ret == nvml.SUCCESS {
		g.MemoryMHz = uint64(mhz)
	}
	gen, ret1 := dev.GetMaxPcieLinkGeneration()
	width, ret2 := dev.GetMaxPcieLinkWidth()
	if ret1 == nvml.SUCCESS && ret2 == nvml.SUCCESS {
		g.PCIBandwidthMBs = pcieLaneMBs[gen] * uint64(width)
	}
	if major, minor, ret := dev.GetCudaComputeCapability(); ret == nvml.SUCCESS {
		g.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
	}
	if st, ret := dev.GetDisplayMode(); ret == nvml.SUCCESS {
		g.DisplayState = enabled(st)
	}
	if st, ret := dev.GetPersistenceMode(); ret == nvml.SUCCESS {
		g.Persisted = enabled(st)
	}
	return g
}

// migInstances describes the MIG instances of a GPU in MIG mode; they
// share the parent's device node and PCI address.
func migInstances(dev nvml.Device, parent gpu) []gpu {
	n, ret := dev.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return nil
	}
	var out []gpu
	for i := range n {
		mig, ret := dev.GetMigDeviceHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue // no instance in this slot
		}
		g := describe(mig)
		g.Minor, g.PCIBusID = parent.Minor, parent.PCIBusID
		g.PowerW, g.PCIBandwidthMBs, g.DisplayState, g.Persisted = parent.PowerW, parent.PCIBandwidthMBs, parent.DisplayState, parent.Persisted
		if g.ComputeCapability == "" {
			g.ComputeCapability = parent.ComputeCapability
		}
		gi, ret1 := mig.GetGpuInstanceId()
		ci, ret2 := mig.GetComputeInstanceId()
		if ret1 == nvml.SUCCESS && ret2 == nvml.SUCCESS {
			g.CapMinors = migCapMinors(parent.Minor, gi, ci)
		}
		out = append(out, g)
	}
	return out
}

// sample reads every GPU's (or MIG instance's) current usage.
func (s *nvmlSession) sample() ([]sample, error) {
	lib, err := s.open()
	if err != nil {
		return nil, err
	}
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("NVML device count: %v", ret)
	}
	var out []sample
	now := time.Now()
	for i := range count {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue
		}
		if mode, _, ret := dev.GetMigMode(); ret == nvml.SUCCESS && mode == nvml.DEVICE_MIG_ENABLE {
			n, _ := dev.GetMaxMigDeviceCount()
			for j := range n {
				if mig, ret := dev.GetMigDeviceHandleByIndex(j); ret == nvml.SUCCESS {
					out = append(out, sampleOf(mig, now))
				}
			}
			continue
		}
		out = append(out, sampleOf(dev, now))
	}
	return out, nil
}

func sampleOf(dev nvml.Device, now time.Time) sample {
	s := sample{Time: now}
	s.UUID, _ = dev.GetUUID()
	s.Model, _ = dev.GetName()
	if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
		s.MemoryUsedMiB, s.MemoryTotalMiB = mem.Used/(1<<20), mem.Total/(1<<20)
	}
	if u, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS {
		s.GPUUtil, s.MemoryUtil, s.HaveUtil = u.Gpu, u.Memory, true
	}
	if t, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
		s.TemperatureC, s.HaveTemp = t, true
	}
	if mw, ret := dev.GetPowerUsage(); ret == nvml.SUCCESS {
		s.PowerW, s.HavePower = float64(mw)/1000, true
	}
	return s
}

func enabled(st nvml.EnableState) string {
	if st == nvml.FEATURE_ENABLED {
		return "Enabled"
	}
	return "Disabled"
}

// cString reads a NUL-terminated C string out of an int8 array.
func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
