package network

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The cluster network's overlays, as `cluster_network { overlay }` names
// them and the node attribute network.cluster reports them.
const (
	OverlayWireGuard = "wireguard"
	OverlayVXLAN     = "vxlan"
)

// OverlayDevices are the overlays' device names (the WireGuard one is
// network/wireguard's Device).
var OverlayDevices = []string{OverlayDevice, "roam-wg"}

// Overlay carries allocation traffic between nodes: each node routes the
// other nodes' subnets through it.
type Overlay interface {
	// Kind is OverlayWireGuard or OverlayVXLAN.
	Kind() string
	// Local is what the node publishes with its lease (no Subnet).
	Local() Peer
	// Ensure sets the overlay up for the node's subnet.
	Ensure(subnet *net.IPNet) error
	// Sync makes the overlay's peers and routes those of peers exactly.
	Sync(peers []Peer) error
	// MTU is the largest packet the overlay carries: allocations on the
	// cluster network get it, so that none depends on path MTU discovery.
	MTU() int
}

// VXLAN settings: the device that carries allocation traffic between nodes.
// It is NOT encrypted: run a VXLAN cluster network on a network you trust.
const (
	OverlayDevice = "roam-vx"
	overlayVNI    = 42
	overlayPort   = 8472 // flannel's VXLAN port, so existing firewall rules fit
	vxlanOverhead = 50
)

// Peer is another node's end of the overlay.
type Peer struct {
	// Kind is the peer's overlay; Subnet its allocation subnet; VTEP its
	// underlay address.
	Kind, Subnet, VTEP string
	// MAC is a VXLAN peer's overlay device's hardware address.
	MAC string
	// PublicKey (base64) and Port are a WireGuard peer's key and UDP port.
	PublicKey string
	Port      int
}

// VXLAN is this node's VXLAN device and the routes through it to the
// other nodes' subnets: the unencrypted overlay of the cluster network
// (flannel's VXLAN backend, without its learning).
type VXLAN struct {
	local  net.IP
	subnet *net.IPNet
	mac    net.HardwareAddr
	mtu    int
}

// NewVXLAN returns the VXLAN overlay of the node at underlay address
// local; it checks that the kernel can make VXLAN devices.
func NewVXLAN(local string) (*VXLAN, error) {
	ip := net.ParseIP(local).To4()
	if ip == nil {
		return nil, fmt.Errorf("overlay: underlay address %q is not IPv4", local)
	}
	if err := probeVXLAN(); err != nil {
		return nil, fmt.Errorf("the kernel cannot make VXLAN devices: %w", err)
	}
	under, err := UnderlayLink(ip)
	if err != nil {
		return nil, err
	}
	// A stable MAC derived from the underlay address: a restarted client
	// keeps the one the other nodes know.
	mac := net.HardwareAddr{0x02, 0x52, ip[0], ip[1], ip[2], ip[3]}
	return &VXLAN{local: ip, mac: mac, mtu: under.Attrs().MTU - vxlanOverhead}, nil
}

// MTU is the underlay's less VXLAN's encapsulation.
func (o *VXLAN) MTU() int { return o.mtu }

// Kind is OverlayVXLAN.
func (o *VXLAN) Kind() string { return OverlayVXLAN }

// Local is the node's underlay address and overlay device's MAC.
func (o *VXLAN) Local() Peer {
	return Peer{Kind: OverlayVXLAN, VTEP: o.local.String(), MAC: o.mac.String()}
}

// Ensure creates (or re-creates, when its settings differ) the VXLAN device
// on the interface holding the underlay address, with the network address
// of the node's subnet, and brings it up.
func (o *VXLAN) Ensure(subnet *net.IPNet) error {
	o.subnet = subnet
	under, err := UnderlayLink(o.local)
	if err != nil {
		return err
	}
	if old, err := netlink.LinkByName(OverlayDevice); err == nil {
		vx, ok := old.(*netlink.Vxlan)
		if ok && vx.VxlanId == overlayVNI && vx.SrcAddr.Equal(o.local) && vx.HardwareAddr.String() == o.mac.String() {
			return o.finish(vx)
		}
		if err := netlink.LinkDel(old); err != nil {
			return fmt.Errorf("delete stale %s: %w", OverlayDevice, err)
		}
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.HardwareAddr, attrs.MTU = OverlayDevice, o.mac, o.mtu
	vx := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: overlayVNI, VtepDevIndex: under.Attrs().Index,
		SrcAddr: o.local, Port: overlayPort, Learning: false}
	if err := netlink.LinkAdd(vx); err != nil {
		return fmt.Errorf("create VXLAN device %s (kernel module vxlan): %w", OverlayDevice, err)
	}
	return o.finish(vx)
}

func (o *VXLAN) finish(vx netlink.Link) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: o.subnet.IP.To4(), Mask: net.CIDRMask(32, 32)}}
	if err := netlink.AddrReplace(vx, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, OverlayDevice, err)
	}
	if err := netlink.LinkSetUp(vx); err != nil {
		return fmt.Errorf("bring up %s: %w", OverlayDevice, err)
	}
	return os.WriteFile("/proc/sys/net/ipv4/conf/"+OverlayDevice+"/rp_filter", []byte("0"), 0o644)
}

// UnderlayLink is the interface that holds the node's address ip.
func UnderlayLink(ip net.IP) (netlink.Link, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			return netlink.LinkByIndex(a.LinkIndex)
		}
	}
	return nil, fmt.Errorf("overlay: no interface holds the node's address %s", ip)
}

// Sync makes the routes, neighbour and forwarding entries of the overlay
// those of peers exactly: a route to each peer's subnet through its
// network address, that address resolved to the peer's MAC, and the MAC
// forwarded to the peer's underlay address. Entries of peers no longer
// listed are removed.
func (o *VXLAN) Sync(peers []Peer) error {
	vx, err := netlink.LinkByName(OverlayDevice)
	if err != nil {
		return fmt.Errorf("find %s: %w", OverlayDevice, err)
	}
	idx := vx.Attrs().Index
	wantRoutes, wantNeigh, wantFDB := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var errs []error
	for _, p := range peers {
		_, subnet, err := net.ParseCIDR(p.Subnet)
		mac, macErr := net.ParseMAC(p.MAC)
		vtep := net.ParseIP(p.VTEP).To4()
		if p.Kind != OverlayVXLAN || err != nil || macErr != nil || vtep == nil || vtep.Equal(o.local) ||
			subnet.String() == o.subnet.String() {
			continue
		}
		gw := subnet.IP.To4()
		wantRoutes[subnet.String()], wantNeigh[gw.String()], wantFDB[mac.String()] = true, true, true
		steps := []error{
			netlink.NeighSet(&netlink.Neigh{LinkIndex: idx, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF,
				State: netlink.NUD_PERMANENT, IP: vtep, HardwareAddr: mac}),
			netlink.NeighSet(&netlink.Neigh{LinkIndex: idx, Family: unix.AF_INET, State: netlink.NUD_PERMANENT,
				IP: gw, HardwareAddr: mac}),
			netlink.RouteReplace(&netlink.Route{LinkIndex: idx, Dst: subnet, Gw: gw, Flags: int(netlink.FLAG_ONLINK)}),
		}
		if e := errors.Join(steps...); e != nil {
			errs = append(errs, fmt.Errorf("overlay route to %s via %s: %w", subnet, vtep, e))
		}
	}
	errs = append(errs, o.prune(idx, wantRoutes, wantNeigh, wantFDB))
	return errors.Join(errs...)
}

// prune removes the overlay's routes, neighbours and forwarding entries
// that are not wanted.
func (o *VXLAN) prune(idx int, routes, neigh, fdb map[string]bool) error {
	var errs []error
	rs, err := netlink.RouteList(&netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Index: idx}}, netlink.FAMILY_V4)
	errs = append(errs, err)
	for _, r := range rs {
		if r.Dst != nil && r.Gw != nil && !routes[r.Dst.String()] {
			errs = append(errs, netlink.RouteDel(&r))
		}
	}
	ns, err := netlink.NeighList(idx, unix.AF_INET)
	errs = append(errs, err)
	for _, n := range ns {
		if !neigh[n.IP.String()] {
			errs = append(errs, netlink.NeighDel(&n))
		}
	}
	fs, err := netlink.NeighList(idx, unix.AF_BRIDGE)
	errs = append(errs, err)
	for _, n := range fs {
		if n.HardwareAddr != nil && !fdb[n.HardwareAddr.String()] && !isZeroMAC(n.HardwareAddr) {
			errs = append(errs, netlink.NeighDel(&n))
		}
	}
	return errors.Join(errs...)
}

func isZeroMAC(m net.HardwareAddr) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}
