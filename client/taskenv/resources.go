package taskenv

import (
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
)

// TaskResources returns the resources the scheduler allocated to a task,
// falling back to the task's own resources block.
func TaskResources(a *api.Allocation, t *api.Task) drivers.Resources {
	var r drivers.Resources
	if a.AllocatedResources != nil {
		if tr, ok := a.AllocatedResources.Tasks[t.Name]; ok && tr != nil {
			r.CPUShares = tr.Cpu.CpuShares
			r.ReservedCores = tr.Cpu.ReservedCores
			r.MemoryMB = tr.Memory.MemoryMB
			r.MemoryMaxMB = tr.Memory.MemoryMaxMB
			for _, d := range tr.Devices {
				if d != nil {
					r.Devices = append(r.Devices, drivers.Device{Vendor: d.Vendor, Type: d.Type, Name: d.Name, IDs: d.DeviceIDs})
				}
			}
		}
		r.DiskMB = a.AllocatedResources.Shared.DiskMB
	} else if t.Resources != nil {
		if t.Resources.CPU != nil {
			r.CPUShares = int64(*t.Resources.CPU)
		}
		if t.Resources.MemoryMB != nil {
			r.MemoryMB = int64(*t.Resources.MemoryMB)
		}
		if t.Resources.MemoryMaxMB != nil {
			r.MemoryMaxMB = int64(*t.Resources.MemoryMaxMB)
		}
	}
	r.Ports = Ports(a, t.Name)
	return r
}

// Ports returns the ports allocated to a task: the group's port mappings,
// else the ports of the group's and the task's networks.
func Ports(a *api.Allocation, task string) []drivers.Port {
	ar := a.AllocatedResources
	if ar == nil {
		return nil
	}
	var out []drivers.Port
	for _, p := range ar.Shared.Ports {
		out = append(out, drivers.Port{Label: p.Label, Value: p.Value, To: p.To, HostIP: p.HostIP})
	}
	if len(out) > 0 {
		return out
	}
	networks := ar.Shared.Networks
	if tr, ok := ar.Tasks[task]; ok && tr != nil {
		networks = append(networks, tr.Networks...)
	}
	for _, n := range networks {
		for _, ports := range [][]api.Port{n.ReservedPorts, n.DynamicPorts} {
			for _, p := range ports {
				out = append(out, drivers.Port{Label: p.Label, Value: p.Value, To: p.To, HostIP: n.IP})
			}
		}
	}
	return out
}
