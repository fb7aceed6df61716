package executor

import (
	"os"
	"strconv"
	"time"

	"github.com/roam-project/roam/drivers"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc; 100 on every
// Linux architecture Roam supports.
const clockTicks = 100

type cpuSample struct {
	at           time.Time
	user, system uint64
}

// Stats samples the task's process group from /proc. CPU percentages are
// measured against the previous sample (zero on the first).
func (p *Process) Stats() (*drivers.TaskStats, error) {
	pids, err := groupPIDs(p.Handle.TaskPID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	stats := &drivers.TaskStats{Timestamp: now, PIDs: pids}
	var cur cpuSample
	cur.at = now
	pageSize := uint64(os.Getpagesize())
	for _, pid := range pids {
		fields, err := procStatFields(pid)
		if err != nil {
			continue // exited while sampling
		}
		utime, _ := strconv.ParseUint(fields[11], 10, 64)
		stime, _ := strconv.ParseUint(fields[12], 10, 64)
		rss, _ := strconv.ParseUint(fields[21], 10, 64)
		cur.user += utime
		cur.system += stime
		stats.MemoryRSS += rss * pageSize
	}
	stats.MemoryUsage = stats.MemoryRSS

	p.statsMu.Lock()
	prev := p.last
	p.last = cur
	p.statsMu.Unlock()
	if !prev.at.IsZero() {
		wall := cur.at.Sub(prev.at).Seconds() * clockTicks
		if wall > 0 {
			stats.CPUUserMode = float64(cur.user-prev.user) / wall * 100
			stats.CPUSystemMode = float64(cur.system-prev.system) / wall * 100
			stats.CPUPercent = stats.CPUUserMode + stats.CPUSystemMode
		}
	}
	return stats, nil
}

// groupPIDs lists the processes in process group pgid.
func groupPIDs(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	want := strconv.Itoa(pgid)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fields, err := procStatFields(pid)
		if err != nil || fields[0] == "Z" {
			continue
		}
		if fields[2] == want {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
