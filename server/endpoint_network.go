package server

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// leaseBits is the size of each node's subnet of the cluster network (/24).
const leaseBits = 24

// networkEndpoint serves "Network.*": clients lease their subnet of the
// cluster network and watch the other nodes' leases through it.
type networkEndpoint struct{ s *Server }

// Lease returns the calling node's lease, creating it when it has none.
func (e *networkEndpoint) Lease(args *structs.SubnetLeaseArgs, reply *structs.SubnetLeaseReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	lease, err := e.s.LeaseSubnet(args)
	reply.Lease = lease
	return err
}

// Leases is a blocking query for the leases of the nodes that are not down.
func (e *networkEndpoint) Leases(args *structs.SubnetLeasesArgs, reply *structs.SubnetLeasesReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	leases, index, err := e.s.LiveSubnetLeases(context.Background(), args.MinIndex, args.Wait)
	*reply = structs.SubnetLeasesReply{Leases: leases, Index: index}
	return err
}

// leaseMu serializes lease allocation on the leader, so that two nodes
// asking at once cannot be handed one subnet.
var leaseMu sync.Mutex

// LeaseSubnet gives a node a /24 of args.CIDR, keeping the one it holds.
// Subnets of nodes that no longer exist are reused.
func (s *Server) LeaseSubnet(args *structs.SubnetLeaseArgs) (*structs.SubnetLease, error) {
	var reply structs.SubnetLeaseReply
	if done, err := s.forward("Network.Lease", args, &reply); done {
		return reply.Lease, err
	}
	_, cidr, err := net.ParseCIDR(args.CIDR)
	if err != nil || cidr.IP.To4() == nil {
		return nil, fmt.Errorf("%w: cluster network %q is not an IPv4 CIDR", ErrInvalid, args.CIDR)
	}
	if ones, _ := cidr.Mask.Size(); ones > leaseBits {
		return nil, fmt.Errorf("%w: cluster network %s is smaller than a /%d", ErrInvalid, cidr, leaseBits)
	}
	leaseMu.Lock()
	defer leaseMu.Unlock()
	snap := s.State().Snapshot()
	leases, err := snap.SubnetLeases()
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	var release []string
	var own *structs.SubnetLease
	for _, l := range leases {
		switch node, err := snap.NodeByID(l.NodeID); {
		case err != nil:
			return nil, err
		case l.NodeID == args.NodeID:
			own = l
		case node == nil:
			release = append(release, l.NodeID)
		default:
			taken[l.Subnet] = true
		}
	}
	lease := &structs.SubnetLease{NodeID: args.NodeID, Overlay: args.Overlay, VTEP: args.VTEP, VTEPMAC: args.VTEPMAC,
		WireGuardKey: args.WireGuardKey, WireGuardPort: args.WireGuardPort}
	if own != nil && subnetIn(own.Subnet, cidr) {
		if own.Overlay == lease.Overlay && own.VTEP == lease.VTEP && own.VTEPMAC == lease.VTEPMAC &&
			own.WireGuardKey == lease.WireGuardKey && own.WireGuardPort == lease.WireGuardPort {
			return own, nil
		}
		lease.Subnet = own.Subnet
	} else if lease.Subnet, err = freeSubnet(cidr, taken); err != nil {
		return nil, err
	}
	if _, err := s.raftApply(structs.SubnetLeaseRequestType, &structs.SubnetLeaseRequest{Lease: lease, Release: release}); err != nil {
		return nil, err
	}
	s.logger.Info("leased cluster subnet", "node_id", args.NodeID, "subnet", lease.Subnet, "overlay", lease.Overlay, "vtep", lease.VTEP)
	return s.State().Snapshot().SubnetLeaseOf(args.NodeID)
}

// subnetIn reports whether subnet lies within cidr.
func subnetIn(subnet string, cidr *net.IPNet) bool {
	ip, _, err := net.ParseCIDR(subnet)
	return err == nil && cidr.Contains(ip)
}

// freeSubnet returns the first /24 of cidr not in taken.
func freeSubnet(cidr *net.IPNet, taken map[string]bool) (string, error) {
	ones, _ := cidr.Mask.Size()
	base := new(big.Int).SetBytes(cidr.IP.To4())
	for i := int64(0); i < int64(1)<<(leaseBits-ones); i++ {
		n := new(big.Int).Add(base, big.NewInt(i<<(32-leaseBits))).Bytes()
		ip := make(net.IP, 4)
		copy(ip[4-len(n):], n)
		subnet := fmt.Sprintf("%s/%d", ip, leaseBits)
		if !taken[subnet] {
			return subnet, nil
		}
	}
	return "", fmt.Errorf("cluster network %s has no free /%d left", cidr, leaseBits)
}

// LiveSubnetLeases lists the leases of nodes that exist and are not down,
// blocking until the leases or the nodes change past minIndex.
func (s *Server) LiveSubnetLeases(ctx context.Context, minIndex uint64, wait time.Duration) ([]*structs.SubnetLease, uint64, error) {
	var out []*structs.SubnetLease
	index, err := s.State().BlockingQuery(ctx, minIndex, wait, func(snap *state.Snapshot) (uint64, error) {
		out = nil
		leases, err := snap.SubnetLeases()
		if err != nil {
			return 0, err
		}
		nodes, err := snap.Nodes()
		if err != nil {
			return 0, err
		}
		live := map[string]bool{}
		for _, n := range nodes {
			live[n.ID] = n.Status != structs.NodeStatusDown
		}
		for _, l := range leases {
			if live[l.NodeID] {
				out = append(out, l)
			}
		}
		return max(snap.SubnetLeasesIndex(), snap.NodesIndex(), 1), nil
	})
	return out, index, err
}

// Addresses is a blocking query for the live allocations' own addresses,
// which clients enforce network policies with.
func (e *networkEndpoint) Addresses(args *structs.AllocAddressesArgs, reply *structs.AllocAddressesReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	addrs, index, err := e.s.AllocAddresses(context.Background(), args.MinIndex, args.Wait)
	*reply = structs.AllocAddressesReply{Addresses: addrs, Index: index}
	return err
}

// AllocAddresses lists the addresses of the allocations that have one and
// are not terminal, with their namespaces and services, blocking until
// allocations or services change past minIndex.
func (s *Server) AllocAddresses(ctx context.Context, minIndex uint64, wait time.Duration) ([]*structs.AllocAddress, uint64, error) {
	var out []*structs.AllocAddress
	index, err := s.State().BlockingQuery(ctx, minIndex, wait, func(snap *state.Snapshot) (uint64, error) {
		out = nil
		allocs, err := snap.Allocs("")
		if err != nil {
			return 0, err
		}
		regs, err := snap.ServiceRegistrations("*")
		if err != nil {
			return 0, err
		}
		services := map[string][]string{}
		for _, r := range regs {
			services[r.AllocID] = append(services[r.AllocID], r.ServiceName)
		}
		for _, a := range allocs {
			if a.NetworkStatus == nil || a.NetworkStatus.Address == "" || structs.AllocClientTerminal(a) ||
				a.DesiredStatus != structs.AllocDesiredStatusRun {
				continue
			}
			out = append(out, &structs.AllocAddress{AllocID: a.ID, Namespace: a.Namespace,
				Address: a.NetworkStatus.Address, Services: services[a.ID]})
		}
		return max(snap.AllocsIndex(), snap.ServicesIndex(), 1), nil
	})
	return out, index, err
}
