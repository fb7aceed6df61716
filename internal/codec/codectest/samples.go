package codectest

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
)

// SampleJob is a typical service job: one group of count instances of a
// raw_exec task, canonicalized as the server stores it.
func SampleJob(id string, count int) *api.Job {
	mem, cpu := 128, 100
	job := &api.Job{ID: &id, Name: &id, Datacenters: []string{"dc1"}, Meta: map[string]string{"team": "web", "tier": "frontend"},
		TaskGroups: []*api.TaskGroup{{
			Name: ptr("web"), Count: &count,
			Networks: []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http", To: 8080}}}},
			Services: []*api.Service{{Name: "web", PortLabel: "http", Tags: []string{"v1", "public"},
				Checks: []api.ServiceCheck{{Type: "http", Path: "/health", Interval: 10 * time.Second, Timeout: 2 * time.Second}}}},
			Tasks: []*api.Task{{Name: "server", Driver: "raw_exec",
				Config:    map[string]any{"command": "/bin/server", "args": []any{"-port", "${NOMAD_PORT_http}"}, "workers": int64(4)},
				Env:       map[string]string{"MODE": "production", "LOG_LEVEL": "info"},
				Resources: &api.Resources{CPU: &cpu, MemoryMB: &mem}}},
		}}}
	job.Canonicalize()
	version, index := uint64(0), uint64(10)
	job.Version, job.CreateIndex, job.ModifyIndex, job.JobModifyIndex = &version, &index, &index, &index
	return job
}

// SamplePlacements are n allocations of job as the scheduler places them
// (pending, with their resources and scheduling metrics), over n nodes.
func SamplePlacements(job *api.Job, prefix string, n int) []*api.Allocation {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).UnixNano()
	out := make([]*api.Allocation, n)
	for i := range out {
		node := fmt.Sprintf("node-%04d", i)
		out[i] = &api.Allocation{
			ID: fmt.Sprintf("%s-%08d-0000-4000-8000-000000000000", prefix, i), Namespace: "default",
			EvalID: "eval-0000-0000-4000-8000-000000000000", Name: fmt.Sprintf("%s.web[%d]", *job.ID, i),
			NodeID: node, NodeName: node, JobID: *job.ID, Job: job, TaskGroup: "web",
			DesiredStatus: "run", ClientStatus: "pending", CreateTime: now, ModifyTime: now,
			Metrics: &api.AllocationMetric{NodesEvaluated: 50, NodesInPool: 500, NodePool: "default", NodesAvailable: map[string]int{"dc1": 500},
				ScoreMetaData:  []*api.NodeScoreMeta{{NodeID: node, Scores: map[string]float64{"binpack": 0.42, "job-anti-affinity": 0}, NormScore: 0.42}},
				AllocationTime: 150 * time.Microsecond},
			AllocatedResources: &api.AllocatedResources{
				Tasks: map[string]*api.AllocatedTaskResources{"server": {
					Cpu: api.AllocatedCpuResources{CpuShares: 100}, Memory: api.AllocatedMemoryResources{MemoryMB: 128}}},
				Shared: api.AllocatedSharedResources{DiskMB: 300,
					Networks: []*api.NetworkResource{{Mode: "host", IP: "10.0.0.1", DynamicPorts: []api.Port{{Label: "http", Value: 20000 + i%10000, To: 8080}}}},
					Ports:    []api.PortMapping{{Label: "http", Value: 20000 + i%10000, To: 8080, HostIP: "10.0.0.1"}}},
			},
			Resources:     &api.Resources{CPU: ptr(100), MemoryMB: ptr(128), DiskMB: ptr(300)},
			TaskResources: map[string]*api.Resources{"server": {CPU: ptr(100), MemoryMB: ptr(128)}},
		}
	}
	return out
}

// SampleClientUpdates are the updates a client sends for allocs once their
// tasks run: status, task states with their events, deployment health.
func SampleClientUpdates(allocs []*api.Allocation) []*api.Allocation {
	started := time.Date(2026, 3, 4, 5, 6, 9, 123456789, time.UTC)
	out := make([]*api.Allocation, len(allocs))
	for i, a := range allocs {
		events := []*api.TaskEvent{
			{Type: "Received", Time: started.UnixNano(), DisplayMessage: "Task received by client"},
			{Type: "Task Setup", Time: started.UnixNano(), DisplayMessage: "Building Task Directory", Message: "Building Task Directory"},
			{Type: "Started", Time: started.UnixNano(), DisplayMessage: "Task started by client", Details: map[string]string{"pid": "4242"}},
		}
		out[i] = &api.Allocation{ID: a.ID, NodeID: a.NodeID, ClientStatus: "running", ClientDescription: "Tasks are running",
			TaskStates:       map[string]*api.TaskState{"server": {State: "running", StartedAt: started, Events: events}},
			DeploymentStatus: &api.AllocDeploymentStatus{Healthy: ptr(true), Timestamp: started},
			NetworkStatus:    &api.AllocNetworkStatus{InterfaceName: "eth0", Address: "10.0.0.1"}}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
