package scheduler

import (
	"fmt"
	"math/rand/v2"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// newUUID returns a random (version 4) UUID drawn from rng.
func newUUID(rng *rand.Rand) string {
	var b [16]byte
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newAlloc builds the allocation for placement p on the offered node.
func (run *evalRun) newAlloc(p placement, gc *groupChecks, o *offer, m *api.AllocationMetric) *api.Allocation {
	node := o.usage.node
	now := run.now.UnixNano()
	a := &api.Allocation{
		ID:            newUUID(run.s.opts.Rand),
		Namespace:     run.namespace(),
		EvalID:        run.eval.ID,
		Name:          p.name,
		NodeID:        node.ID,
		NodeName:      node.Name,
		JobID:         deref(run.job.ID),
		Job:           run.job,
		TaskGroup:     gc.name,
		Metrics:       m,
		DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus:  structs.AllocClientStatusPending,
		CreateTime:    now,
		ModifyTime:    now,
	}
	a.AllocatedResources, a.Resources, a.TaskResources = allocatedResources(gc.ask, o)
	if p.canary {
		a.DeploymentStatus = &api.AllocDeploymentStatus{Canary: true}
	}
	if prev := p.previous; prev != nil {
		a.PreviousAllocation = prev.ID
		if p.reschedule {
			a.RescheduleTracker = rescheduleTracker(prev, now)
		}
	}
	return a
}

// rescheduleTracker carries prev's reschedule history with one more event.
func rescheduleTracker(prev *api.Allocation, now int64) *api.RescheduleTracker {
	t := &api.RescheduleTracker{}
	if prev.RescheduleTracker != nil {
		t.Events = append(t.Events, prev.RescheduleTracker.Events...)
	}
	t.Events = append(t.Events, &api.RescheduleEvent{
		RescheduleTime: now, PrevAllocID: prev.ID, PrevNodeID: prev.NodeID,
	})
	return t
}

// allocatedResources describes what the allocation holds, both as
// AllocatedResources and as the deprecated Resources and TaskResources the
// API still reports.
func allocatedResources(ask *groupAsk, o *offer) (*api.AllocatedResources, *api.Resources, map[string]*api.Resources) {
	ar := &api.AllocatedResources{
		Tasks: make(map[string]*api.AllocatedTaskResources, len(ask.tasks)),
		Shared: api.AllocatedSharedResources{
			DiskMB:   ask.diskMB,
			Networks: o.sharedNets,
			Ports:    o.sharedPorts,
		},
	}
	total := legacyResources(0, 0, 0, 0, int(ask.diskMB), o.sharedNets)
	tasks := make(map[string]*api.Resources, len(ask.tasks))
	for _, t := range ask.tasks {
		cpu := t.cpu
		if t.cores > 0 {
			cpu = o.taskCPU[t.name]
		}
		ar.Tasks[t.name] = &api.AllocatedTaskResources{
			Cpu:      api.AllocatedCpuResources{CpuShares: cpu, ReservedCores: o.taskCores[t.name]},
			Memory:   api.AllocatedMemoryResources{MemoryMB: t.memoryMB, MemoryMaxMB: t.memoryMaxMB},
			Networks: o.taskNetworks[t.name],
			Devices:  o.taskDevices[t.name],
		}
		tasks[t.name] = legacyResources(int(cpu), t.cores, int(t.memoryMB), int(t.memoryMaxMB), 0, o.taskNetworks[t.name])
		*total.CPU += int(cpu)
		*total.Cores += t.cores
		*total.MemoryMB += int(t.memoryMB)
		*total.MemoryMaxMB += int(t.memoryMaxMB)
	}
	return ar, total, tasks
}

func legacyResources(cpu, cores, memoryMB, memoryMaxMB, diskMB int, nets []*api.NetworkResource) *api.Resources {
	return &api.Resources{
		CPU:         &cpu,
		Cores:       &cores,
		MemoryMB:    &memoryMB,
		MemoryMaxMB: &memoryMaxMB,
		DiskMB:      &diskMB,
		IOPS:        new(0),
		Networks:    nets,
	}
}
