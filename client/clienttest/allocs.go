package clienttest

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
)

// ShellTask is a raw_exec task running script with /bin/sh.
func ShellTask(name, script string) *api.Task {
	return &api.Task{
		Name: name, Driver: "raw_exec",
		Config: map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
	}
}

// Alloc builds an allocation of a one-group job of jobType on nodeID.
func Alloc(nodeID, jobType string, tasks ...*api.Task) *api.Allocation {
	jobID, group := "example", "web"
	res := &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{}}
	for _, t := range tasks {
		res.Tasks[t.Name] = &api.AllocatedTaskResources{
			Cpu: api.AllocatedCpuResources{CpuShares: 100}, Memory: api.AllocatedMemoryResources{MemoryMB: 64},
		}
	}
	res.Shared.Ports = []api.PortMapping{{Label: "http", Value: 25000, HostIP: "127.0.0.1"}}
	return &api.Allocation{
		ID: UUID(), Namespace: "default", NodeID: nodeID, JobID: jobID, TaskGroup: group,
		Name: fmt.Sprintf("%s.%s[0]", jobID, group), DesiredStatus: "run", ClientStatus: "pending",
		AllocatedResources: res,
		Job: &api.Job{
			ID: ptr(jobID), Name: ptr(jobID), Type: ptr(jobType), Region: ptr("global"),
			Datacenters: []string{"dc1"}, Namespace: ptr("default"),
			TaskGroups: []*api.TaskGroup{{Name: ptr(group), Tasks: tasks}},
		},
	}
}

// Restart sets a restart policy on the allocation's group.
func Restart(a *api.Allocation, attempts int, interval, delay time.Duration, mode string) {
	a.Job.TaskGroups[0].RestartPolicy = &api.RestartPolicy{
		Attempts: &attempts, Interval: &interval, Delay: &delay, Mode: &mode,
	}
}

// UUID returns a random UUID.
func UUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func ptr[T any](v T) *T { return &v }
