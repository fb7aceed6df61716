package benchscale

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/internal/nodesim"
)

// makeJobs shapes the run as C1M did: Jobs jobs of equal count (the
// remainder on the first), the last BatchJobs of them batch jobs.
func makeJobs(cfg Config) []*api.Job {
	per, extra := cfg.Allocs/cfg.Jobs, cfg.Allocs%cfg.Jobs
	jobs := make([]*api.Job, 0, cfg.Jobs)
	for i := 0; i < cfg.Jobs; i++ {
		kind := api.JobTypeService
		if i >= cfg.Jobs-cfg.BatchJobs {
			kind = api.JobTypeBatch
		}
		count := per
		if i == 0 {
			count += extra
		}
		jobs = append(jobs, simJob(fmt.Sprintf("scale-%s-%04d", kind, i), kind, count))
	}
	return jobs
}

// simJob is a job of one group of count small tasks on the simulated
// nodes' driver.
func simJob(id, kind string, count int) *api.Job {
	job := api.NewServiceJob(id, id, "global", 50)
	job.Type = ptr(kind)
	job.Datacenters = []string{"*"}
	task := api.NewTask("work", nodesim.Driver)
	task.Config = map[string]any{"command": "/bin/sleep", "args": []string{"3600"}}
	task.Resources = &api.Resources{CPU: ptr(20), MemoryMB: ptr(10)}
	group := api.NewTaskGroup("work", count)
	group.EphemeralDisk = &api.EphemeralDisk{SizeMB: ptr(10)}
	group.Tasks = []*api.Task{task}
	if kind == api.JobTypeBatch {
		group.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr("fail")}
	}
	job.TaskGroups = []*api.TaskGroup{group}
	return job
}

// probeJob is a job of count 0: registering it is a cheap write.
func probeJob() *api.Job {
	return simJob("scale-probe", api.JobTypeBatch, 0)
}

// submit registers the jobs through the servers' HTTP APIs, n at a time,
// spread over the servers.
func submit(ctx context.Context, c *cluster, jobs []*api.Job, n int) error {
	clients := make([]*api.Client, 0, len(c.servers))
	for _, p := range c.servers {
		client, err := p.client()
		if err != nil {
			return err
		}
		clients = append(clients, client)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				if _, _, err := clients[i%len(clients)].Jobs().Register(jobs[i], nil); err != nil {
					errs <- fmt.Errorf("register %s: %w", *jobs[i].ID, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func ptr[T any](v T) *T { return &v }
