package isolation

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupParent is the cgroup (v1) or slice (v2) under which every task's
// cgroup is created.
const cgroupParent = "/roam"

// Limits are the cgroup limits of one task.
type Limits struct {
	// MemoryMB is the hard memory limit; zero leaves memory unlimited.
	MemoryMB int64
	// MemoryReservationMB is the soft limit, used when it is below MemoryMB.
	MemoryReservationMB int64
	// CPUShares is the relative CPU weight (Nomad's cpu MHz).
	CPUShares int64
	// Cores pins the task to these CPUs (cpuset) when not empty.
	Cores []uint16
	// Devices, when not empty, is the task's device allow-list; every
	// other device is denied.
	Devices []specs.LinuxDeviceCgroup
	// DevicesRequired makes a device list that cannot be applied (a
	// cgroups v2 host that refuses eBPF device filters) fail the cgroup;
	// otherwise the cgroup is made without it. Tasks given devices need
	// their list applied.
	DevicesRequired bool
}

// Cgroup is one task's control group on cgroups v1 or v2.
type Cgroup struct {
	name string
	v1   cgroup1.Cgroup
	v2   *cgroup2.Manager
}

// CgroupName returns the cgroup path of a task ID, relative to the
// hierarchy's root ("/roam/<alloc>.<task>").
func CgroupName(taskID string) string {
	return cgroupParent + "/" + strings.NewReplacer("/", ".", " ", "_").Replace(taskID)
}

// CgroupsAvailable reports whether cgroups v1 or v2 is mounted.
func CgroupsAvailable() bool {
	return cgroups.Mode() != cgroups.Unavailable
}

// NewCgroup creates the cgroup name with limits (or updates it if present).
func NewCgroup(name string, limits Limits) (*Cgroup, error) {
	res := limits.spec()
	if cgroups.Mode() == cgroups.Unified {
		r := cgroup2.ToResources(res)
		r.Devices = limits.Devices // applied as an eBPF device filter
		m, err := cgroup2.NewManager("/sys/fs/cgroup", name, r)
		if err != nil && len(r.Devices) > 0 && !limits.DevicesRequired {
			r.Devices = nil
			m, err = cgroup2.NewManager("/sys/fs/cgroup", name, r)
		}
		if err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", name, err)
		}
		return &Cgroup{name: name, v2: m}, nil
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(name), res)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", name, err)
	}
	return &Cgroup{name: name, v1: cg}, nil
}

// LoadCgroup opens an existing cgroup.
func LoadCgroup(name string) (*Cgroup, error) {
	if cgroups.Mode() == cgroups.Unified {
		m, err := cgroup2.Load(name)
		if err != nil {
			return nil, fmt.Errorf("load cgroup %s: %w", name, err)
		}
		return &Cgroup{name: name, v2: m}, nil
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(name))
	if err != nil {
		return nil, fmt.Errorf("load cgroup %s: %w", name, err)
	}
	return &Cgroup{name: name, v1: cg}, nil
}

func (l Limits) spec() *specs.LinuxResources {
	res := &specs.LinuxResources{CPU: &specs.LinuxCPU{}, Devices: l.Devices}
	if l.MemoryMB > 0 {
		limit := l.MemoryMB * 1024 * 1024
		res.Memory = &specs.LinuxMemory{Limit: &limit}
		if swapAccounted() {
			res.Memory.Swap = &limit // memory+swap: the task cannot swap
		}
		if l.MemoryReservationMB > 0 && l.MemoryReservationMB < l.MemoryMB {
			soft := l.MemoryReservationMB * 1024 * 1024
			res.Memory.Reservation = &soft
		}
	}
	if l.CPUShares > 0 {
		shares := uint64(max(l.CPUShares, 2))
		res.CPU.Shares = &shares
	}
	if len(l.Cores) > 0 {
		cpus := make([]string, len(l.Cores))
		for i, c := range l.Cores {
			cpus[i] = strconv.Itoa(int(c))
		}
		res.CPU.Cpus = strings.Join(cpus, ",")
	}
	return res
}

// swapAccounted reports whether cgroups v1 limits memory+swap (the kernel
// accounts swap); without it a task may swap beyond its memory limit.
func swapAccounted() bool {
	if cgroups.Mode() == cgroups.Unified {
		return false
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

// Name is the cgroup's path relative to the hierarchy root.
func (c *Cgroup) Name() string { return c.name }

// AddProc moves a process into the cgroup.
func (c *Cgroup) AddProc(pid int) error {
	var err error
	if c.v2 != nil {
		err = c.v2.AddProc(uint64(pid))
	} else {
		err = c.v1.AddProc(uint64(pid))
	}
	if err != nil {
		return fmt.Errorf("add pid %d to cgroup %s: %w", pid, c.name, err)
	}
	return nil
}

// PIDs lists the processes in the cgroup.
func (c *Cgroup) PIDs() ([]int, error) {
	var out []int
	if c.v2 != nil {
		procs, err := c.v2.Procs(true)
		if err != nil {
			return nil, fmt.Errorf("list cgroup %s: %w", c.name, err)
		}
		for _, p := range procs {
			out = append(out, int(p))
		}
		return out, nil
	}
	procs, err := c.v1.Processes(cgroup1.Memory, true)
	if err != nil {
		return nil, fmt.Errorf("list cgroup %s: %w", c.name, err)
	}
	for _, p := range procs {
		out = append(out, p.Pid)
	}
	return out, nil
}

// KillAll sends SIGKILL to every process in the cgroup.
func (c *Cgroup) KillAll() error {
	pids, err := c.PIDs()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill pid %d: %w", pid, err)
		}
	}
	return nil
}

// OOMKills returns how many processes the kernel OOM-killed in the cgroup.
func (c *Cgroup) OOMKills() (uint64, error) {
	u, err := c.Usage()
	if err != nil {
		return 0, err
	}
	return u.OOMKills, nil
}

// Usage is one sample of a cgroup's counters.
type Usage struct {
	Time time.Time
	// CPU times are cumulative nanoseconds.
	CPUTotal, CPUUser, CPUSystem uint64
	MemoryRSS, MemoryCache       uint64
	MemoryUsage, MemoryMaxUsage  uint64
	OOMKills                     uint64
}

// Usage samples the cgroup's CPU and memory counters.
func (c *Cgroup) Usage() (*Usage, error) {
	u := &Usage{Time: time.Now()}
	if c.v2 != nil {
		m, err := c.v2.Stat()
		if err != nil {
			return nil, fmt.Errorf("stat cgroup %s: %w", c.name, err)
		}
		if m.CPU != nil {
			// cgroups v2 reports microseconds.
			u.CPUTotal, u.CPUUser, u.CPUSystem = m.CPU.UsageUsec*1000, m.CPU.UserUsec*1000, m.CPU.SystemUsec*1000
		}
		if m.Memory != nil {
			u.MemoryRSS, u.MemoryCache = m.Memory.Anon, m.Memory.File
			u.MemoryUsage, u.MemoryMaxUsage = m.Memory.Usage, m.Memory.MaxUsage
		}
		if m.MemoryEvents != nil {
			u.OOMKills = m.MemoryEvents.OomKill
		}
		return u, nil
	}
	m, err := c.v1.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, fmt.Errorf("stat cgroup %s: %w", c.name, err)
	}
	if m.CPU != nil && m.CPU.Usage != nil {
		u.CPUTotal, u.CPUUser, u.CPUSystem = m.CPU.Usage.Total, m.CPU.Usage.User, m.CPU.Usage.Kernel
	}
	if m.Memory != nil {
		u.MemoryRSS, u.MemoryCache = m.Memory.RSS, m.Memory.Cache
		if m.Memory.Usage != nil {
			u.MemoryUsage, u.MemoryMaxUsage = m.Memory.Usage.Usage, m.Memory.Usage.Max
		}
	}
	if m.MemoryOomControl != nil {
		u.OOMKills = m.MemoryOomControl.OomKill
	}
	return u, nil
}

// Delete kills what is left in the cgroup and removes it.
func (c *Cgroup) Delete() error {
	if err := c.KillAll(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var err error
	if c.v2 != nil {
		err = c.v2.Delete()
	} else {
		err = c.v1.Delete()
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete cgroup %s: %w", c.name, err)
	}
	return nil
}
