package client

import (
	"context"
	"fmt"
	"time"

	"github.com/roam-project/roam/network"
	"github.com/roam-project/roam/network/wireguard"
	"github.com/roam-project/roam/structs"
)

// clusterServers is what the cluster network needs from the servers: the
// node's subnet lease, and a blocking query for every live node's.
type clusterServers interface {
	LeaseSubnet(args *structs.SubnetLeaseArgs) (*structs.SubnetLease, error)
	LiveSubnetLeases(ctx context.Context, minIndex uint64, wait time.Duration) ([]*structs.SubnetLease, uint64, error)
}

// leaseWait is how long one blocking query for the leases waits.
const leaseWait = 5 * time.Minute

// startOverlay starts the overlay the configuration asks for (WireGuard
// unless it says vxlan) on the node's underlay address vtep; when that one
// cannot start it says so and starts the fallback, if one is configured.
func (c *Client) startOverlay(vtep string) (network.Overlay, error) {
	kind := c.cfg.ClusterOverlay
	if kind == "" {
		kind = network.OverlayWireGuard
	}
	ov, err := c.startOverlayKind(kind, vtep)
	if err == nil {
		return ov, nil
	}
	err = fmt.Errorf("cluster network: the %s overlay cannot start: %w", kind, err)
	fallback := c.cfg.ClusterOverlayFallback
	if fallback == "" || fallback == kind {
		c.logger.Error("cluster network unavailable: this node offers no bridge mode (set cluster_network { fallback } to use another overlay)",
			"error", err)
		return nil, err
	}
	c.logger.Error("cluster network: falling back to another overlay, as cluster_network { fallback } allows",
		"error", err, "fallback", fallback)
	ov, ferr := c.startOverlayKind(fallback, vtep)
	if ferr != nil {
		return nil, fmt.Errorf("%w; the %s fallback cannot start either: %w", err, fallback, ferr)
	}
	return ov, nil
}

// startVXLANToo starts the VXLAN overlay beside WireGuard when the
// configuration names VXLAN as the fallback: the node then also reaches
// (unencrypted) the nodes that run VXLAN only. It returns nil otherwise, or
// when VXLAN cannot start (the node then reaches WireGuard nodes only).
func (c *Client) startVXLANToo(vtep string) network.Overlay {
	if c.overlay == nil || c.overlay.Kind() != network.OverlayWireGuard || c.cfg.ClusterOverlayFallback != network.OverlayVXLAN {
		return nil
	}
	vx, err := network.NewVXLAN(vtep)
	if err != nil {
		c.logger.Warn("cluster network: VXLAN, the fallback, cannot start beside WireGuard: nodes that run VXLAN only cannot be reached",
			"error", err)
		return nil
	}
	return vx
}

func (c *Client) startOverlayKind(kind, vtep string) (network.Overlay, error) {
	switch kind {
	case network.OverlayWireGuard:
		return wireguard.Start(wireguard.Config{Local: vtep, Port: c.cfg.WireGuardPort, Dir: c.cfg.StateDir, Logger: c.logger})
	case network.OverlayVXLAN:
		return network.NewVXLAN(vtep)
	}
	return nil, fmt.Errorf("unknown overlay %q (want wireguard or vxlan)", kind)
}

// joinClusterNetwork leases the node's subnet of the cluster network (it
// retries until it has one), sets up the overlay and starts keeping its
// routes to the other nodes current. A node whose overlay could not start
// stays out of the cluster network (and offers no bridge mode).
func (c *Client) joinClusterNetwork(ctx context.Context, loops func(func())) error {
	if c.overlay == nil {
		return nil
	}
	cs, ok := c.servers.(clusterServers)
	if !ok {
		return fmt.Errorf("cluster network: the servers offer no subnet leases")
	}
	ov, local := c.overlay, c.overlay.Local()
	if c.vxlanToo != nil {
		// A WireGuard lease with a VTEP MAC says that the node also runs
		// VXLAN, for the nodes that run only that.
		local.MAC = c.vxlanToo.Local().MAC
	}
	backoff := minRetry
	var lease *structs.SubnetLease
	for {
		var err error
		lease, err = cs.LeaseSubnet(&structs.SubnetLeaseArgs{
			NodeID: c.nodeID, CIDR: c.cfg.ClusterNetworkCIDR, Overlay: local.Kind, VTEP: local.VTEP, VTEPMAC: local.MAC,
			WireGuardKey: local.PublicKey, WireGuardPort: local.Port,
		})
		if err == nil {
			break
		}
		c.logger.Error("lease cluster network subnet", "error", err, "retry_in", backoff)
		if !sleepCtx(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, maxRetry)
	}
	if err := c.network.UseSubnet(lease.Subnet); err != nil {
		return fmt.Errorf("cluster network: %w", err)
	}
	if err := c.network.EnsureBase(); err != nil {
		c.logger.Error("cluster network: set up the bridge and its firewall", "error", err)
	}
	if err := ov.Ensure(c.network.Subnet()); err != nil {
		return fmt.Errorf("cluster network: %w", err)
	}
	if c.vxlanToo != nil {
		if err := c.vxlanToo.Ensure(c.network.Subnet()); err != nil {
			c.logger.Error("cluster network: set up VXLAN beside WireGuard: nodes that run VXLAN only cannot be reached", "error", err)
			c.vxlanToo = nil
		} else {
			c.logger.Warn("cluster network: VXLAN runs beside WireGuard (cluster_network { fallback = \"vxlan\" }): traffic with nodes that run VXLAN only is UNENCRYPTED",
				"device", network.OverlayDevice)
		}
	}
	switch ov.Kind() {
	case network.OverlayVXLAN:
		c.logger.Warn("cluster network joined: traffic between nodes crosses an UNENCRYPTED VXLAN overlay; run it on a network you trust",
			"cidr", c.cfg.ClusterNetworkCIDR, "subnet", lease.Subnet, "device", network.OverlayDevice, "vtep", local.VTEP)
	default:
		c.logger.Info("cluster network joined: traffic between nodes is encrypted by WireGuard",
			"cidr", c.cfg.ClusterNetworkCIDR, "subnet", lease.Subnet, "device", wireguard.Device,
			"endpoint", fmt.Sprintf("%s:%d", local.VTEP, local.Port), "public_key", local.PublicKey)
	}
	vx := c.vxlanToo
	loops(func() { c.watchClusterNetwork(ctx, cs, ov, vx) })
	return nil
}

// watchClusterNetwork follows the live nodes' leases with a blocking query
// and syncs the overlay's routes to them: a node that joins gains a route
// within one round trip, one that goes down loses it. vx, when not nil, is
// the VXLAN overlay a WireGuard node also runs toward VXLAN-only nodes.
func (c *Client) watchClusterNetwork(ctx context.Context, cs clusterServers, ov, vx network.Overlay) {
	var index uint64
	unencrypted := -1
	for ctx.Err() == nil {
		leases, next, err := cs.LiveSubnetLeases(ctx, index, leaseWait)
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("watch cluster network leases", "error", err)
				sleepCtx(ctx, minRetry)
			}
			continue
		}
		if next == index {
			continue
		}
		index = next
		peers, vxPeers, other := splitPeers(leases, c.nodeID, ov.Kind(), vx != nil)
		if other > 0 {
			c.logger.Warn("cluster network: nodes on another overlay cannot be reached from this one",
				"overlay", ov.Kind(), "unreachable_nodes", other)
		}
		if err := ov.Sync(peers); err != nil {
			c.logger.Error("sync cluster network routes", "error", err)
			continue
		}
		if vx != nil {
			if err := vx.Sync(vxPeers); err != nil {
				c.logger.Error("sync cluster network routes over VXLAN", "error", err)
				continue
			}
			if len(vxPeers) != unencrypted && len(vxPeers) > 0 {
				c.logger.Warn("cluster network: traffic with nodes that run VXLAN only is UNENCRYPTED",
					"vxlan_only_nodes", len(vxPeers))
				unencrypted = len(vxPeers)
			}
		}
		c.logger.Info("cluster network routes synced", "peers", len(peers)+len(vxPeers))
	}
}

// splitPeers sorts the other nodes' leases into the peers of this node's
// overlay kind and, for a WireGuard node that runs VXLAN too (vxlanToo),
// the VXLAN-only nodes it reaches over VXLAN; other counts the nodes it
// cannot reach. A WireGuard lease with a VTEP MAC is a node that runs
// VXLAN too: a VXLAN node reaches it over VXLAN.
func splitPeers(leases []*structs.SubnetLease, self, kind string, vxlanToo bool) (peers, vxPeers []network.Peer, other int) {
	for _, l := range leases {
		if l.NodeID == self {
			continue
		}
		lk := l.Overlay
		if lk == "" {
			lk = network.OverlayVXLAN // leases from before the choice
		}
		p := network.Peer{Kind: lk, Subnet: l.Subnet, VTEP: l.VTEP, MAC: l.VTEPMAC,
			PublicKey: l.WireGuardKey, Port: l.WireGuardPort}
		switch {
		case lk == kind:
			peers = append(peers, p)
		case vxlanToo && lk == network.OverlayVXLAN:
			vxPeers = append(vxPeers, p)
		case kind == network.OverlayVXLAN && lk == network.OverlayWireGuard && l.VTEPMAC != "":
			p.Kind = network.OverlayVXLAN
			peers = append(peers, p)
		default:
			other++
		}
	}
	return peers, vxPeers, other
}

// leaveWireGuard stops the WireGuard device process an earlier client left
// running in the state directory, if one runs: this node is off the
// WireGuard overlay now (no cluster network, or another overlay).
func (c *Client) leaveWireGuard() {
	stopped, err := wireguard.StopDevice(c.cfg.StateDir)
	switch {
	case err != nil:
		c.logger.Error("cluster network: stop the WireGuard device an earlier client left", "error", err)
	case stopped:
		c.logger.Info("cluster network: stopped the WireGuard device an earlier client left: this node is no longer on the WireGuard overlay",
			"device", wireguard.Device)
	}
}

// LeaveClusterNetwork takes the node off the cluster network for good: it
// stops the WireGuard device process, which otherwise outlives the client
// for the next one to adopt. A -dev agent, whose state goes with it, calls
// it before Shutdown.
func (c *Client) LeaveClusterNetwork() error {
	if ov, ok := c.overlay.(*wireguard.Overlay); ok {
		return ov.Stop()
	}
	return nil
}
