package taskrunner

import (
	"context"
	"strconv"

	"github.com/hashicorp/nomad/api"
)

// Stats samples the running task's resource usage.
func (tr *TaskRunner) Stats(ctx context.Context) (*api.TaskResourceUsage, error) {
	if !tr.isRunning() {
		return nil, ErrTaskNotRunning
	}
	ts, err := tr.cfg.Driver.TaskStats(ctx, tr.taskID)
	if err != nil {
		return nil, err
	}
	mhz := 0.0
	if tr.cfg.Node != nil {
		mhz, _ = strconv.ParseFloat(tr.cfg.Node.Attributes["cpu.frequency"], 64)
	}
	return &api.TaskResourceUsage{
		Timestamp: ts.Timestamp.UnixNano(),
		ResourceUsage: &api.ResourceUsage{
			MemoryStats: &api.MemoryStats{
				RSS: ts.MemoryRSS, Cache: ts.MemoryCache, Usage: ts.MemoryUsage,
				MaxUsage: ts.MemoryMaxUsage, Measured: []string{"RSS"},
			},
			CpuStats: &api.CpuStats{
				SystemMode: ts.CPUSystemMode, UserMode: ts.CPUUserMode, Percent: ts.CPUPercent,
				TotalTicks: ts.CPUPercent / 100 * mhz,
				Measured:   []string{"System Mode", "User Mode", "Percent"},
			},
			DeviceStats: tr.deviceStats(ctx),
		},
	}, nil
}
