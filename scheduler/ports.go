package scheduler

import (
	"math/rand/v2"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// randomPortTries is how many random dynamic ports are tried before the
// range is scanned in order.
const randomPortTries = 20

// assignAllPorts gives the group's and its tasks' networks host ports,
// none used twice on the node.
func (u *nodeUsage) assignAllPorts(ask *groupAsk, o *offer, rng *rand.Rand) string {
	taken := make(map[int]bool)
	nets, ports, dim := u.assignPorts(ask.networks, taken, rng)
	if dim != "" {
		return dim
	}
	o.sharedNets, o.sharedPorts = nets, ports
	for _, t := range ask.tasks {
		if len(t.networks) == 0 {
			continue
		}
		nets, _, dim := u.assignPorts(t.networks, taken, rng)
		if dim != "" {
			return dim
		}
		if o.taskNetworks == nil {
			o.taskNetworks = make(map[string][]*api.NetworkResource)
		}
		o.taskNetworks[t.name] = nets
	}
	return ""
}

// assignPorts copies the asked networks with the node's address and a host
// port for every static and dynamic port. taken holds the ports this
// allocation already took; nil means the networks ask for no ports.
func (u *nodeUsage) assignPorts(asks []*api.NetworkResource, taken map[int]bool, rng *rand.Rand) ([]*api.NetworkResource, []api.PortMapping, string) {
	var nets []*api.NetworkResource
	var mappings []api.PortMapping
	for _, ask := range asks {
		if ask == nil {
			continue
		}
		n := *ask
		n.IP = u.ip
		n.ReservedPorts = make([]api.Port, 0, len(ask.ReservedPorts))
		for _, p := range ask.ReservedPorts {
			if !p.IgnoreCollision {
				if u.reservedPorts[p.Value] {
					return nil, nil, structs.DimensionReservedPortCollide
				}
				if u.portHolders(p.Value) > 0 || taken[p.Value] {
					return nil, nil, structs.DimensionReservedPortCollide
				}
			}
			taken[p.Value] = true
			n.ReservedPorts = append(n.ReservedPorts, p)
			mappings = append(mappings, u.portMapping(p))
		}
		n.DynamicPorts = make([]api.Port, 0, len(ask.DynamicPorts))
		for _, p := range ask.DynamicPorts {
			port, ok := u.pickDynamicPort(taken, rng)
			if !ok {
				return nil, nil, structs.DimensionDynamicPortsFailed
			}
			taken[port] = true
			p.Value = port
			n.DynamicPorts = append(n.DynamicPorts, p)
			mappings = append(mappings, u.portMapping(p))
		}
		nets = append(nets, &n)
	}
	return nets, mappings, ""
}

func (u *nodeUsage) portMapping(p api.Port) api.PortMapping {
	to := p.To
	if to == -1 {
		to = p.Value
	}
	return api.PortMapping{Label: p.Label, Value: p.Value, To: to, HostIP: u.ip}
}

func (u *nodeUsage) portFree(port int, taken map[int]bool) bool {
	return !u.reservedPorts[port] && u.portHolders(port) == 0 && !taken[port]
}

// pickDynamicPort picks a free port of the node's dynamic range: a few
// random tries, then a scan.
func (u *nodeUsage) pickDynamicPort(taken map[int]bool, rng *rand.Rand) (int, bool) {
	span := u.maxPort - u.minPort + 1
	if span <= 0 {
		return 0, false
	}
	for range randomPortTries {
		port := u.minPort + rng.IntN(span)
		if u.portFree(port, taken) {
			return port, true
		}
	}
	for port := u.minPort; port <= u.maxPort; port++ {
		if u.portFree(port, taken) {
			return port, true
		}
	}
	return 0, false
}
