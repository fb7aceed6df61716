package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/roam-project/roam/drivers"
)

// TaskStats samples the container's CPU and memory usage. The engine
// measures CPU over about a second, so a call takes that long.
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*drivers.TaskStats, error) {
	h, err := d.handle(taskID)
	if err != nil {
		return nil, err
	}
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	resp, err := c.ContainerStats(ctx, h.containerID, false)
	if err != nil {
		return nil, fmt.Errorf("stats of docker task %q: %w", taskID, err)
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("stats of docker task %q: decode: %w", taskID, err)
	}
	return convertStats(&s, cpuMHz()), nil
}

// convertStats maps the engine's sample to Nomad's: CPU as percent of one
// core (and MHz when the core speed is known), memory from the cgroup.
func convertStats(s *container.StatsResponse, mhzPerCore float64) *drivers.TaskStats {
	out := &drivers.TaskStats{
		Timestamp:      s.Read,
		MemoryRSS:      s.MemoryStats.Stats["rss"],
		MemoryCache:    s.MemoryStats.Stats["cache"],
		MemoryUsage:    s.MemoryStats.Usage,
		MemoryMaxUsage: s.MemoryStats.MaxUsage,
	}
	if out.Timestamp.IsZero() {
		out.Timestamp = time.Now()
	}
	cur, pre := s.CPUStats, s.PreCPUStats
	systemDelta := float64(cur.SystemUsage) - float64(pre.SystemUsage)
	if systemDelta <= 0 {
		return out
	}
	cores := float64(cur.OnlineCPUs)
	if cores == 0 {
		cores = float64(len(cur.CPUUsage.PercpuUsage))
	}
	percent := func(now, before uint64) float64 {
		delta := float64(now) - float64(before)
		if delta <= 0 {
			return 0
		}
		return delta / systemDelta * cores * 100
	}
	out.CPUPercent = percent(cur.CPUUsage.TotalUsage, pre.CPUUsage.TotalUsage)
	out.CPUUserMode = percent(cur.CPUUsage.UsageInUsermode, pre.CPUUsage.UsageInUsermode)
	out.CPUSystemMode = percent(cur.CPUUsage.UsageInKernelmode, pre.CPUUsage.UsageInKernelmode)
	out.CPUTotalTicks = out.CPUPercent / 100 * mhzPerCore
	return out
}

var (
	cpuMHzOnce  sync.Once
	cpuMHzValue float64
)

// cpuMHz is one core's clock speed from /proc/cpuinfo, or 0 when unknown.
func cpuMHz() float64 {
	cpuMHzOnce.Do(func() {
		f, err := os.Open("/proc/cpuinfo")
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			key, val, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(key) == "cpu MHz" {
				cpuMHzValue, _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
				return
			}
		}
	})
	return cpuMHzValue
}
