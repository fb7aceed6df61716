package scheduler

import "github.com/hashicorp/nomad/api"

// Resources a task or group gets when its job names none, as Nomad's.
const (
	defaultTaskCPU      = 100
	defaultTaskMemoryMB = 300
	defaultDiskMB       = 300
)

// taskAsk is what one task of a group asks of a node.
type taskAsk struct {
	name        string
	cpu         int64 // MHz; zero when the task asks for whole cores
	cores       int
	memoryMB    int64
	memoryMaxMB int64
	networks    []*api.NetworkResource
	devices     []deviceAsk
}

// groupAsk is what one allocation of a group asks of a node, computed once
// per group and evaluation.
type groupAsk struct {
	tasks    []taskAsk
	cpu      int64
	cores    int
	memoryMB int64
	diskMB   int64
	networks []*api.NetworkResource
	hasPorts bool
	// hasDevices is true when any task asks for devices.
	hasDevices bool
}

func newGroupAsk(tg *api.TaskGroup) *groupAsk {
	ask := &groupAsk{diskMB: defaultDiskMB, networks: tg.Networks}
	if tg.EphemeralDisk != nil && tg.EphemeralDisk.SizeMB != nil {
		ask.diskMB = int64(*tg.EphemeralDisk.SizeMB)
	}
	for _, n := range tg.Networks {
		ask.hasPorts = ask.hasPorts || n.HasPorts()
	}
	for _, t := range tg.Tasks {
		ta := newTaskAsk(t)
		ask.tasks = append(ask.tasks, ta)
		ask.cpu += ta.cpu
		ask.cores += ta.cores
		ask.memoryMB += ta.memoryMB
		ask.hasDevices = ask.hasDevices || len(ta.devices) > 0
		for _, n := range ta.networks {
			ask.hasPorts = ask.hasPorts || n.HasPorts()
		}
	}
	return ask
}

func newTaskAsk(t *api.Task) taskAsk {
	ta := taskAsk{name: t.Name, cpu: defaultTaskCPU, memoryMB: defaultTaskMemoryMB}
	r := t.Resources
	if r == nil {
		return ta
	}
	ta.cores = deref(r.Cores)
	switch {
	case ta.cores > 0:
		ta.cpu = 0
	case r.CPU != nil:
		ta.cpu = int64(*r.CPU)
	}
	if r.MemoryMB != nil {
		ta.memoryMB = int64(*r.MemoryMB)
	}
	ta.memoryMaxMB = int64(deref(r.MemoryMaxMB))
	ta.networks = r.Networks
	ta.devices = newDeviceAsks(t)
	return ta
}
