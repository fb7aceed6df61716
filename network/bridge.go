package network

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureBridge creates (or finds) the node's bridge, gives it the gateway
// address gw of subnet and a fixed hardware address (see pinBridgeMAC) and
// brings it up. It also turns on IP forwarding and lets host-mapped ports
// reach 127.0.0.1 (route_localnet).
func ensureBridge(name string, gw net.IP, subnet *net.IPNet) (netlink.Link, error) {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.HardwareAddr = name, bridgeMAC(gw)
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create bridge %s: %w", name, err)
		}
		link, err = netlink.LinkByName(name)
	}
	if err != nil {
		return nil, fmt.Errorf("find bridge %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return nil, fmt.Errorf("%s exists and is a %s, not a bridge", name, link.Type())
	}
	if err := pinBridgeMAC(link, gw); err != nil {
		return nil, err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw, Mask: subnet.Mask}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return nil, fmt.Errorf("address %s on bridge %s: %w", addr, name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("bring up bridge %s: %w", name, err)
	}
	for path, value := range map[string]string{
		"/proc/sys/net/ipv4/ip_forward":                       "1",
		"/proc/sys/net/ipv4/conf/" + name + "/route_localnet": "1",
	} {
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return nil, fmt.Errorf("set %s: %w", path, err)
		}
	}
	return link, nil
}

// bridgeMAC is the hardware address a new bridge gets, derived from its
// gateway address (locally administered), so that a bridge made again
// keeps the one its allocations resolved.
func bridgeMAC(gw net.IP) net.HardwareAddr {
	ip := gw.To4()
	return net.HardwareAddr{0x02, 0x62, ip[0], ip[1], ip[2], ip[3]}
}

// pinBridgeMAC makes the bridge keep its hardware address. A bridge whose
// address was never set takes the lowest of its ports' (the host ends of
// the allocations' veth pairs) and changes it whenever a port with a
// lower one joins or the port holding it leaves; the allocations keep the
// old one for their gateway in their neighbour caches for up to ~30 s more
// (until the entry goes stale and a probe fails), and their frames to it
// go nowhere. Setting the address, even to the one it has, fixes it. A
// bridge made by an earlier version keeps the address it has now (set
// again at every start: whether it was set is not in netlink's answer),
// so that no allocation's entry goes stale.
func pinBridgeMAC(link netlink.Link, gw net.IP) error {
	mac := link.Attrs().HardwareAddr
	if bytes.Equal(mac, bridgeMAC(gw)) {
		return nil // set when it was made
	}
	if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
		return fmt.Errorf("bridge %s: fix its hardware address %s: %w", link.Attrs().Name, mac, err)
	}
	return nil
}

// vethNames are the host-side name of an allocation's veth pair and the
// temporary name of its peer before it moves into the namespace (interface
// names hold 15 bytes).
func vethNames(allocID string) (host, peer string) {
	id := allocID
	if len(id) > 8 {
		id = id[:8]
	}
	return "veth" + id, "vtmp" + id
}

// attach connects the namespace at nsPath to the bridge: a veth pair whose
// host end joins the bridge and whose other end becomes eth0 in the
// namespace with address ip, routed through gw. Both ends get mtu (0: the
// bridge's).
func attach(bridge netlink.Link, allocID, nsPath string, ip, gw net.IP, subnet *net.IPNet, mtu int) (string, error) {
	hostName, peerName := vethNames(allocID)
	if old, err := netlink.LinkByName(hostName); err == nil {
		_ = netlink.LinkDel(old) // a half-done earlier attempt
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = hostName
	attrs.MasterIndex = bridge.Attrs().Index
	attrs.MTU = bridge.Attrs().MTU
	if mtu > 0 {
		attrs.MTU = mtu
	}
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: peerName}); err != nil {
		return "", fmt.Errorf("create veth %s: %w", hostName, err)
	}
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		return "", fmt.Errorf("find veth %s: %w", hostName, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return "", fmt.Errorf("bring up %s: %w", hostName, err)
	}
	peer, err := netlink.LinkByName(peerName)
	if err != nil {
		return "", fmt.Errorf("find veth %s: %w", peerName, err)
	}
	h, err := handleAt(nsPath)
	if err != nil {
		return "", err
	}
	defer h.Close()
	mac := peer.Attrs().HardwareAddr
	if err := movePeer(peer, nsPath); err != nil {
		return "", err
	}
	if err := configureInside(h, peerName, ip, gw, subnet); err != nil {
		return "", err
	}
	// The node may still resolve ip to the interface of an allocation that
	// had it before; until that entry expired (tens of seconds), traffic
	// routed to the new one (from other nodes, say) would go nowhere.
	neigh := &netlink.Neigh{LinkIndex: bridge.Attrs().Index, Family: unix.AF_INET, State: netlink.NUD_REACHABLE,
		IP: ip, HardwareAddr: mac}
	if err := netlink.NeighSet(neigh); err != nil {
		return "", fmt.Errorf("neighbour entry %s on %s: %w", ip, bridge.Attrs().Name, err)
	}
	return hostName, nil
}

func movePeer(peer netlink.Link, nsPath string) error {
	f, err := os.Open(nsPath)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", nsPath, err)
	}
	defer f.Close()
	if err := netlink.LinkSetNsFd(peer, int(f.Fd())); err != nil {
		return fmt.Errorf("move %s into %s: %w", peer.Attrs().Name, nsPath, err)
	}
	return nil
}

// configureInside renames the peer to eth0, addresses it, brings it and lo
// up and routes everything through the gateway.
func configureInside(h *netlink.Handle, peerName string, ip, gw net.IP, subnet *net.IPNet) error {
	peer, err := h.LinkByName(peerName)
	if err != nil {
		return fmt.Errorf("find %s in the namespace: %w", peerName, err)
	}
	if err := h.LinkSetName(peer, "eth0"); err != nil {
		return fmt.Errorf("rename %s to eth0: %w", peerName, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: subnet.Mask}}
	if err := h.AddrReplace(peer, addr); err != nil {
		return fmt.Errorf("address %s on eth0: %w", addr, err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fmt.Errorf("bring up eth0: %w", err)
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("bring up lo: %w", err)
		}
	}
	route := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: gw}
	if err := h.RouteReplace(route); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

// detach deletes the allocation's veth pair; a missing one is not an error.
func detach(allocID string) error {
	hostName, _ := vethNames(allocID)
	link, err := netlink.LinkByName(hostName)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find veth %s: %w", hostName, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete veth %s: %w", hostName, err)
	}
	return nil
}
