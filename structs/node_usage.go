package structs

import (
	"maps"
	"slices"

	"github.com/hashicorp/nomad/api"
)

// NodeUsage sums what the non-terminal allocations on one node hold (see
// AllocTerminal): the state store keeps one per node, updated in the
// writes that change allocations, so the scheduler need not add a node's
// allocations up for each evaluation. A stored NodeUsage is never
// mutated; a writer changes a Clone.
type NodeUsage struct {
	// Allocs is how many allocations are counted.
	Allocs    int
	CPUShares int64
	MemoryMB  int64
	DiskMB    int64
	// Ports, Cores and Devices count the holders of each host port,
	// reserved core and device instance (DeviceKey); a value that drops
	// to zero is removed.
	Ports   map[int]int
	Cores   map[uint16]int
	Devices map[string]int
}

// Clone returns a copy that shares nothing with u; a nil u clones into an
// empty usage.
func (u *NodeUsage) Clone() *NodeUsage {
	if u == nil {
		return &NodeUsage{}
	}
	c := *u
	c.Ports = maps.Clone(u.Ports)
	c.Cores = maps.Clone(u.Cores)
	c.Devices = maps.Clone(u.Devices)
	return &c
}

// Empty reports whether no allocation is counted.
func (u *NodeUsage) Empty() bool { return u == nil || u.Allocs == 0 }

// Add counts the allocation (delta 1) or takes it off (delta -1),
// whatever its status: callers decide which allocations count.
func (u *NodeUsage) Add(a *api.Allocation, delta int) {
	r := AllocResources(a)
	d := int64(delta)
	u.Allocs += delta
	u.CPUShares += d * r.CPUShares
	u.MemoryMB += d * r.MemoryMB
	u.DiskMB += d * r.DiskMB
	for _, p := range r.Ports {
		u.Ports = addCount(u.Ports, p, delta)
	}
	for _, c := range r.ReservedCores {
		u.Cores = addCount(u.Cores, c, delta)
	}
	for _, k := range r.Devices {
		u.Devices = addCount(u.Devices, k, delta)
	}
}

func addCount[K comparable](m map[K]int, k K, delta int) map[K]int {
	if m == nil {
		m = make(map[K]int)
	}
	if n := m[k] + delta; n != 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
	return m
}

// NodeUsageOf sums the non-terminal allocations of allocs, as the state
// store's NodeUsage of their node does.
func NodeUsageOf(allocs []*api.Allocation) *NodeUsage {
	u := &NodeUsage{}
	for _, a := range allocs {
		if !AllocTerminal(a) {
			u.Add(a, 1)
		}
	}
	return u
}

// UsageFits reports whether the node can run what base (its usage) and
// change (allocations added, counted 1, and taken off, counted -1) add up
// to, and the first dimension that does not fit. Scalar dimensions are
// checked in total; ports, cores and devices only where change adds a
// holder, so that a placement is judged by what it takes, as AllocsFit
// judges a whole set of allocations.
func UsageFits(node *api.Node, base, change *NodeUsage) (bool, string, error) {
	capacity, err := NodeCapacity(node)
	if err != nil {
		return false, "", err
	}
	if base == nil {
		base = &NodeUsage{}
	}
	used := ComparableResources{
		CPUShares: base.CPUShares + change.CPUShares,
		MemoryMB:  base.MemoryMB + change.MemoryMB,
		DiskMB:    base.DiskMB + change.DiskMB,
	}
	if d := used.Exceeds(capacity); d != "" {
		return false, d, nil
	}
	for p, d := range change.Ports {
		if d <= 0 {
			continue
		}
		switch n := base.Ports[p] + d; {
		case slices.Contains(capacity.Ports, p):
			return false, DimensionReservedPortCollide, nil
		case n > 1:
			return false, DimensionPortCollision, nil
		}
	}
	for c, d := range change.Cores {
		if d > 0 && (base.Cores[c]+d > 1 || !slices.Contains(capacity.ReservedCores, c)) {
			return false, DimensionCores, nil
		}
	}
	if len(change.Devices) > 0 {
		devices := nodeDeviceKeys(node)
		for k, d := range change.Devices {
			if _, ok := devices[k]; d > 0 && (!ok || base.Devices[k]+d > 1) {
				return false, DimensionDevices, nil
			}
		}
	}
	return true, "", nil
}
