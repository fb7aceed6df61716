package scheduler

import (
	"math/rand/v2"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// nodeUsage is what a node has in use while a plan is being built: its
// existing allocations, less those the plan stops, plus those it places.
// The existing ones come summed from the state (base); the plan's changes
// are counted on top.
type nodeUsage struct {
	node     *api.Node
	capacity structs.ComparableResources
	cpu      int64
	memoryMB int64
	diskMB   int64
	// base is the node's usage in the state; it is never changed.
	base          *structs.NodeUsage
	reservedPorts map[int]bool
	// ports, cores and devices count the plan's changes to the holders
	// of each port, core and device instance (DeviceKey) over base. Like
	// groupAllocs and reservedPorts they stay nil until they count
	// something: most nodes a placement looks at never need them.
	ports   map[int]int
	cores   map[uint16]int
	devices map[string]int
	// groupAllocs counts the evaluated job's allocations per group.
	groupAllocs map[string]int
	ip          string
	minPort     int
	maxPort     int
	// sharesPerCore converts whole cores into cpu shares.
	sharesPerCore int64
}

// newNodeUsage starts the node's usage from base, its usage in the state
// (nil when nothing runs there).
func newNodeUsage(node *api.Node, base *structs.NodeUsage) (*nodeUsage, error) {
	capacity, err := structs.NodeCapacity(node)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = &structs.NodeUsage{}
	}
	u := &nodeUsage{
		node:     node,
		capacity: capacity,
		cpu:      base.CPUShares,
		memoryMB: base.MemoryMB,
		diskMB:   base.DiskMB,
		base:     base,
		ip:       nodeIP(node),
	}
	if len(capacity.Ports) > 0 {
		u.reservedPorts = make(map[int]bool, len(capacity.Ports))
		for _, p := range capacity.Ports {
			u.reservedPorts[p] = true
		}
	}
	u.minPort, u.maxPort = structs.DynamicPortRange(node)
	if nr := node.NodeResources; nr != nil && nr.Cpu.TotalCpuCores > 0 {
		u.sharesPerCore = nr.Cpu.CpuShares / int64(nr.Cpu.TotalCpuCores)
	}
	return u, nil
}

// portHolders counts the allocations holding the host port.
func (u *nodeUsage) portHolders(port int) int { return u.base.Ports[port] + u.ports[port] }

// coreHolders counts the allocations holding the reserved core.
func (u *nodeUsage) coreHolders(core uint16) int { return u.base.Cores[core] + u.cores[core] }

// deviceHolders counts the allocations holding the device instance.
func (u *nodeUsage) deviceHolders(key string) int { return u.base.Devices[key] + u.devices[key] }

// nodeIP is the address allocations on the node bind their ports to.
func nodeIP(node *api.Node) string {
	if nr := node.NodeResources; nr != nil {
		for _, n := range nr.Networks {
			if n != nil && n.IP != "" && (n.Mode == "" || n.Mode == "host") {
				return n.IP
			}
		}
	}
	return node.Attributes["unique.network.ip-address"]
}

// add counts alloc on the node (delta 1) or takes it off (delta -1).
// ownJob says whether it belongs to the job being evaluated.
func (u *nodeUsage) add(a *api.Allocation, delta int, ownJob bool) {
	r := structs.AllocResources(a)
	d := int64(delta)
	u.cpu += d * r.CPUShares
	u.memoryMB += d * r.MemoryMB
	u.diskMB += d * r.DiskMB
	for _, p := range r.Ports {
		addCount(&u.ports, p, delta)
	}
	for _, c := range r.ReservedCores {
		addCount(&u.cores, c, delta)
	}
	for _, d := range r.Devices {
		addCount(&u.devices, d, delta)
	}
	if ownJob {
		addCount(&u.groupAllocs, a.TaskGroup, delta)
	}
}

// addCount adds delta to the count of k in *m, making the map on first use.
func addCount[K comparable](m *map[K]int, k K, delta int) {
	if *m == nil {
		*m = make(map[K]int)
	}
	(*m)[k] += delta
}

// offer is a node's answer to a group's ask: the cores and ports it would
// give, and how well the node ranks for it.
type offer struct {
	usage        *nodeUsage
	taskCores    map[string][]uint16
	taskCPU      map[string]int64
	sharedNets   []*api.NetworkResource
	sharedPorts  []api.PortMapping
	taskNetworks map[string][]*api.NetworkResource
	taskDevices  map[string][]*api.AllocatedDeviceResource
	// deviceScore is how well the picked devices meet their affinities,
	// in [-1, 1]; 0 without device affinities.
	deviceScore float64
	cpu         int64
	memoryMB    int64
	scores      map[string]float64
	score       float64
}

// makeOffer checks that the ask fits next to what the node has in use and
// picks cores and ports for it. When it does not fit, it names the
// exhausted dimension.
func (u *nodeUsage) makeOffer(ask *groupAsk, rng *rand.Rand, m *constraintMatcher) (*offer, string) {
	cpu := ask.cpu + int64(ask.cores)*u.sharesPerCore
	switch {
	case u.cpu+cpu > u.capacity.CPUShares:
		return nil, structs.DimensionCPU
	case u.memoryMB+ask.memoryMB > u.capacity.MemoryMB:
		return nil, structs.DimensionMemory
	case u.diskMB+ask.diskMB > u.capacity.DiskMB:
		return nil, structs.DimensionDisk
	}
	o := &offer{usage: u, cpu: cpu, memoryMB: ask.memoryMB}
	if ask.cores > 0 && !u.pickCores(ask, o) {
		return nil, structs.DimensionCores
	}
	if ask.hasDevices {
		if dim := u.pickDevices(ask, o, m); dim != "" {
			return nil, dim
		}
	}
	if ask.hasPorts {
		if dim := u.assignAllPorts(ask, o, rng); dim != "" {
			return nil, dim
		}
	} else if len(ask.networks) > 0 {
		o.sharedNets, _, _ = u.assignPorts(ask.networks, nil, rng)
	}
	return o, ""
}

// pickCores gives each task asking for cores that many free reservable
// cores.
func (u *nodeUsage) pickCores(ask *groupAsk, o *offer) bool {
	taken := make(map[uint16]bool)
	o.taskCores = make(map[string][]uint16)
	o.taskCPU = make(map[string]int64)
	for _, t := range ask.tasks {
		for len(o.taskCores[t.name]) < t.cores {
			core, ok := u.freeCore(taken)
			if !ok {
				return false
			}
			taken[core] = true
			o.taskCores[t.name] = append(o.taskCores[t.name], core)
		}
		o.taskCPU[t.name] = int64(t.cores) * u.sharesPerCore
	}
	return true
}

func (u *nodeUsage) freeCore(taken map[uint16]bool) (uint16, bool) {
	for _, c := range u.capacity.ReservedCores {
		if u.coreHolders(c) == 0 && !taken[c] {
			return c, true
		}
	}
	return 0, false
}
