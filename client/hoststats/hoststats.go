// Package hoststats samples the client machine's CPU, memory, disk and
// uptime from /proc for the /v1/client/stats endpoint.
package hoststats

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/fingerprint"
)

// Collector samples host statistics. CPU percentages are measured since the
// previous sample (since boot on the first).
type Collector struct {
	allocDir string
	mhz      float64

	mu   sync.Mutex
	prev map[string]cpuTimes
}

type cpuTimes struct{ user, system, idle, total float64 }

// NewCollector returns a collector that reports the filesystem of allocDir
// and converts CPU use to MHz with the per-core clock mhz.
func NewCollector(allocDir string, mhz float64) *Collector {
	return &Collector{allocDir: allocDir, mhz: mhz, prev: map[string]cpuTimes{}}
}

// Collect takes one sample.
func (c *Collector) Collect() (*api.HostStats, error) {
	stats := &api.HostStats{}
	var err error
	if stats.Memory, err = memory(); err != nil {
		return nil, err
	}
	if stats.CPU, err = c.cpu(); err != nil {
		return nil, err
	}
	for _, cpu := range stats.CPU {
		stats.CPUTicksConsumed += (100 - cpu.Idle) / 100 * c.mhz
	}
	if stats.AllocDirStats, err = disk(c.allocDir); err != nil {
		return nil, err
	}
	stats.DiskStats = []*api.HostDiskStats{stats.AllocDirStats}
	stats.Uptime = uptime()
	return stats, nil
}

func (c *Collector) cpu() ([]*api.HostCPUStats, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("read /proc/stat: %w", err)
	}
	defer f.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*api.HostCPUStats
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 8 || !strings.HasPrefix(fields[0], "cpu") || fields[0] == "cpu" {
			continue
		}
		cur := parseCPU(fields[1:])
		prev := c.prev[fields[0]]
		c.prev[fields[0]] = cur
		total := cur.total - prev.total
		if total <= 0 {
			total = 1
		}
		out = append(out, &api.HostCPUStats{
			CPU:    fields[0],
			User:   (cur.user - prev.user) / total * 100,
			System: (cur.system - prev.system) / total * 100,
			Idle:   (cur.idle - prev.idle) / total * 100,
		})
	}
	return out, s.Err()
}

// parseCPU reads user nice system idle iowait irq softirq steal.
func parseCPU(fields []string) cpuTimes {
	var v [8]float64
	for i := 0; i < len(v) && i < len(fields); i++ {
		v[i], _ = strconv.ParseFloat(fields[i], 64)
	}
	t := cpuTimes{user: v[0] + v[1], system: v[2] + v[5] + v[6], idle: v[3] + v[4]}
	for _, x := range v {
		t.total += x
	}
	return t
}

func memory() (*api.HostMemoryStats, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, fmt.Errorf("read /proc/meminfo: %w", err)
	}
	defer f.Close()
	kb := map[string]uint64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, val, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		kb[key] = n * 1024
	}
	m := &api.HostMemoryStats{Total: kb["MemTotal"], Available: kb["MemAvailable"], Free: kb["MemFree"]}
	m.Used = m.Total - m.Available
	return m, nil
}

func disk(path string) (*api.HostDiskStats, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	// The device matches the node's unique.storage.volume attribute, which
	// `node status` looks the disk up by.
	d := &api.HostDiskStats{Device: fingerprint.MountDevice(path), Mountpoint: path, Size: st.Blocks * bs, Available: st.Bavail * bs}
	d.Used = (st.Blocks - st.Bfree) * bs
	if d.Size > 0 {
		d.UsedPercent = float64(d.Used) / float64(d.Size) * 100
	}
	if st.Files > 0 {
		d.InodesUsedPercent = float64(st.Files-st.Ffree) / float64(st.Files) * 100
	}
	return d, nil
}

func uptime() uint64 {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return uint64(f)
}
