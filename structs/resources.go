package structs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// Resource dimensions, as Nomad reports them in
// AllocationMetric.DimensionExhausted.
const (
	DimensionCPU                 = "cpu"
	DimensionMemory              = "memory"
	DimensionDisk                = "disk"
	DimensionCores               = "cores"
	DimensionPortCollision       = "network: port collision"
	DimensionReservedPortCollide = "network: reserved port collision"
	DimensionDynamicPortsFailed  = "network: dynamic port selection failed"
	DimensionDevices             = "device oversubscribed"
)

// Default range of dynamic ports when a node names none.
const (
	DefaultMinDynamicPort = 20000
	DefaultMaxDynamicPort = 32000
)

// ComparableResources is a flattened sum of resources (an allocation's
// total, a node's capacity, or a node's usage) that can be added and
// compared dimension by dimension.
type ComparableResources struct {
	CPUShares     int64
	ReservedCores []uint16
	MemoryMB      int64
	MemoryMaxMB   int64
	DiskMB        int64
	// Ports are the host ports in use, static and dynamic, except static
	// ports that ignore collisions.
	Ports []int
	// Devices are the device instances held, each as DeviceKey names it.
	Devices []string
}

// DeviceKey names one device instance on a node: its group's
// "vendor/type/model" and its ID.
func DeviceKey(vendor, typ, model, id string) string {
	return vendor + "/" + typ + "/" + model + "/" + id
}

// Add adds other to c.
func (c *ComparableResources) Add(other ComparableResources) {
	c.CPUShares += other.CPUShares
	c.ReservedCores = append(c.ReservedCores, other.ReservedCores...)
	c.MemoryMB += other.MemoryMB
	c.MemoryMaxMB += other.MemoryMaxMB
	c.DiskMB += other.DiskMB
	c.Ports = append(c.Ports, other.Ports...)
	c.Devices = append(c.Devices, other.Devices...)
}

// Subtract removes other from c; ports and cores are removed by value.
func (c *ComparableResources) Subtract(other ComparableResources) {
	c.CPUShares -= other.CPUShares
	c.MemoryMB -= other.MemoryMB
	c.MemoryMaxMB -= other.MemoryMaxMB
	c.DiskMB -= other.DiskMB
	c.ReservedCores = removeValues(c.ReservedCores, other.ReservedCores)
	c.Ports = removeValues(c.Ports, other.Ports)
	c.Devices = removeValues(c.Devices, other.Devices)
}

func removeValues[T comparable](from, remove []T) []T {
	for _, v := range remove {
		if i := slices.Index(from, v); i >= 0 {
			from = slices.Delete(from, i, i+1)
		}
	}
	return from
}

// Exceeds reports the first scalar dimension (cpu, memory, disk) in which c
// is larger than capacity, or "" when c fits.
func (c ComparableResources) Exceeds(capacity ComparableResources) string {
	switch {
	case c.CPUShares > capacity.CPUShares:
		return DimensionCPU
	case c.MemoryMB > capacity.MemoryMB:
		return DimensionMemory
	case c.DiskMB > capacity.DiskMB:
		return DimensionDisk
	}
	return ""
}

// AllocResources is the total an allocation holds on its node, from its
// AllocatedResources (tasks plus shared), or from the deprecated Resources
// field of allocations written without them.
func AllocResources(a *api.Allocation) ComparableResources {
	var c ComparableResources
	ar := a.AllocatedResources
	if ar == nil {
		if a.Resources != nil {
			c.CPUShares = int64(intOrZero(a.Resources.CPU))
			c.MemoryMB = int64(intOrZero(a.Resources.MemoryMB))
			c.MemoryMaxMB = int64(intOrZero(a.Resources.MemoryMaxMB))
			c.DiskMB = int64(intOrZero(a.Resources.DiskMB))
			c.Ports = networkPorts(nil, a.Resources.Networks)
		}
		return c
	}
	ports := networkPorts(nil, ar.Shared.Networks)
	for _, p := range ar.Shared.Ports {
		ports = appendUnique(ports, p.Value)
	}
	shared := ignoredPorts(nil, ar.Shared.Networks)
	for _, t := range ar.Tasks {
		if t == nil {
			continue
		}
		c.CPUShares += t.Cpu.CpuShares
		c.ReservedCores = append(c.ReservedCores, t.Cpu.ReservedCores...)
		c.MemoryMB += t.Memory.MemoryMB
		c.MemoryMaxMB += t.Memory.MemoryMaxMB
		ports = networkPorts(ports, t.Networks)
		shared = ignoredPorts(shared, t.Networks)
		for _, d := range t.Devices {
			if d == nil {
				continue
			}
			for _, id := range d.DeviceIDs {
				c.Devices = append(c.Devices, DeviceKey(d.Vendor, d.Type, d.Name, id))
			}
		}
	}
	c.DiskMB = ar.Shared.DiskMB
	c.Ports = slices.DeleteFunc(ports, func(p int) bool { return slices.Contains(shared, p) })
	return c
}

// ignoredPorts adds the static ports that ask to ignore collisions: they
// may be shared, so they are not counted as held.
func ignoredPorts(ports []int, networks []*api.NetworkResource) []int {
	for _, n := range networks {
		if n == nil {
			continue
		}
		for _, p := range n.ReservedPorts {
			if p.IgnoreCollision {
				ports = append(ports, p.Value)
			}
		}
	}
	return ports
}

func networkPorts(ports []int, networks []*api.NetworkResource) []int {
	for _, n := range networks {
		if n == nil {
			continue
		}
		for _, p := range n.ReservedPorts {
			ports = appendUnique(ports, p.Value)
		}
		for _, p := range n.DynamicPorts {
			ports = appendUnique(ports, p.Value)
		}
	}
	return ports
}

func appendUnique(ports []int, port int) []int {
	if port <= 0 || slices.Contains(ports, port) {
		return ports
	}
	return append(ports, port)
}

func intOrZero(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// NodeCapacity is what a node offers to allocations: its resources less
// what the operator reserved. Ports holds the reserved host ports, which no
// allocation may take.
func NodeCapacity(n *api.Node) (ComparableResources, error) {
	var c ComparableResources
	switch {
	case n.NodeResources != nil:
		nr := n.NodeResources
		c.CPUShares = nr.Cpu.CpuShares
		c.ReservedCores = slices.Clone(nr.Cpu.ReservableCpuCores)
		c.MemoryMB = nr.Memory.MemoryMB
		c.DiskMB = nr.Disk.DiskMB
	case n.Resources != nil:
		c.CPUShares = int64(intOrZero(n.Resources.CPU))
		c.MemoryMB = int64(intOrZero(n.Resources.MemoryMB))
		c.DiskMB = int64(intOrZero(n.Resources.DiskMB))
	}
	c.MemoryMaxMB = c.MemoryMB
	if r := n.ReservedResources; r != nil {
		c.CPUShares -= int64(r.Cpu.CpuShares)
		c.MemoryMB -= int64(r.Memory.MemoryMB)
		c.MemoryMaxMB = c.MemoryMB
		c.DiskMB -= int64(r.Disk.DiskMB)
		ports, err := ParsePortRanges(r.Networks.ReservedHostPorts)
		if err != nil {
			return c, fmt.Errorf("node %s reserved ports: %w", n.ID, err)
		}
		c.Ports = ports
	}
	return c, nil
}

// DynamicPortRange is the node's range for dynamic ports, inclusive.
func DynamicPortRange(n *api.Node) (lo, hi int) {
	lo, hi = DefaultMinDynamicPort, DefaultMaxDynamicPort
	if nr := n.NodeResources; nr != nil {
		if nr.MinDynamicPort > 0 {
			lo = nr.MinDynamicPort
		}
		if nr.MaxDynamicPort > 0 {
			hi = nr.MaxDynamicPort
		}
	}
	return lo, hi
}

// ParsePortRanges parses a port list such as "22,80,8000-8100".
func ParsePortRanges(spec string) ([]int, error) {
	var ports []int
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		loStr, hiStr, isRange := strings.Cut(part, "-")
		lo, err := parsePort(loStr)
		if err != nil {
			return nil, err
		}
		hi := lo
		if isRange {
			if hi, err = parsePort(hiStr); err != nil {
				return nil, err
			}
		}
		if hi < lo {
			return nil, fmt.Errorf("invalid port range %q: end before start", part)
		}
		for p := lo; p <= hi; p++ {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}

// AllocsFit reports whether the non-terminal allocations among allocs fit on
// node together: cpu, memory, disk, reserved cores, host ports (no port
// used twice, none of the node's reserved ports) and device instances (each
// of the node's, none twice). When they do not, it names
// the exhausted dimension as Nomad reports it. used is the sum of the
// non-terminal allocations.
func AllocsFit(node *api.Node, allocs []*api.Allocation) (bool, string, ComparableResources, error) {
	var used ComparableResources
	capacity, err := NodeCapacity(node)
	if err != nil {
		return false, "", used, err
	}
	reserved := make(map[int]bool, len(capacity.Ports))
	for _, p := range capacity.Ports {
		reserved[p] = true
	}
	ports := make(map[int]bool)
	cores := make(map[uint16]bool)
	devices := nodeDeviceKeys(node)
	dimension := ""
	for _, a := range allocs {
		if AllocTerminal(a) {
			continue
		}
		r := AllocResources(a)
		used.Add(r)
		for _, p := range r.Ports {
			switch {
			case reserved[p]:
				dimension = firstNonEmpty(dimension, DimensionReservedPortCollide)
			case ports[p]:
				dimension = firstNonEmpty(dimension, DimensionPortCollision)
			}
			ports[p] = true
		}
		for _, c := range r.ReservedCores {
			if cores[c] || !slices.Contains(capacity.ReservedCores, c) {
				dimension = firstNonEmpty(dimension, DimensionCores)
			}
			cores[c] = true
		}
		for _, d := range r.Devices {
			held, ok := devices[d]
			if !ok || held {
				dimension = firstNonEmpty(dimension, DimensionDevices)
			}
			devices[d] = true
		}
	}
	if d := used.Exceeds(capacity); d != "" {
		return false, d, used, nil
	}
	if dimension != "" {
		return false, dimension, used, nil
	}
	return true, "", used, nil
}

// nodeDeviceKeys maps every device instance of the node to false (not
// held).
func nodeDeviceKeys(node *api.Node) map[string]bool {
	out := map[string]bool{}
	if node.NodeResources == nil {
		return out
	}
	for _, g := range node.NodeResources.Devices {
		if g == nil {
			continue
		}
		for _, inst := range g.Instances {
			if inst != nil {
				out[DeviceKey(g.Vendor, g.Type, g.Name, inst.ID)] = false
			}
		}
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// AllocTerminal reports whether an allocation no longer holds resources:
// the server asked it to stop or evict, or the client reports it complete,
// failed or lost.
func AllocTerminal(a *api.Allocation) bool {
	return AllocServerTerminal(a) || AllocClientTerminal(a)
}

// AllocServerTerminal reports whether the server asked the allocation to
// stop or be evicted.
func AllocServerTerminal(a *api.Allocation) bool {
	return a.DesiredStatus == AllocDesiredStatusStop || a.DesiredStatus == AllocDesiredStatusEvict
}

// AllocOfJob reports whether an allocation belongs to the registration
// of job it is compared with, not to an older job of the same ID that was
// purged and registered again: Nomad tells them apart by the job's create
// index, which an allocation's copy of its job keeps. An allocation with
// no copy of its job, or a job not yet stored, is taken to belong.
func AllocOfJob(a *api.Allocation, job *api.Job) bool {
	if a.Job == nil || a.Job.CreateIndex == nil || job == nil || job.CreateIndex == nil {
		return true
	}
	return *a.Job.CreateIndex == *job.CreateIndex
}

// AllocClientTerminal reports whether the client says the allocation is
// complete, failed or lost.
func AllocClientTerminal(a *api.Allocation) bool {
	switch a.ClientStatus {
	case AllocClientStatusComplete, AllocClientStatusFailed, AllocClientStatusLost:
		return true
	}
	return false
}

// NodeReady reports whether new allocations may be placed on the node: it
// is ready, eligible for scheduling and not draining.
func NodeReady(n *api.Node) bool {
	return n.Status == NodeStatusReady &&
		n.SchedulingEligibility != NodeSchedulingIneligible &&
		!n.Drain && n.DrainStrategy == nil
}

// NodePoolOf is the node's pool, "default" when it names none.
func NodePoolOf(n *api.Node) string {
	if n.NodePool == "" {
		return NodePoolDefault
	}
	return n.NodePool
}

// Built-in node pools.
const (
	NodePoolDefault = "default"
	NodePoolAll     = "all"
)
