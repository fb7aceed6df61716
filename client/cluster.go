package client

import (
	"context"
	"fmt"
	"time"

	"github.com/roam-project/roam/network"
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

// joinClusterNetwork leases the node's subnet of the cluster network (it
// retries until it has one), sets up the overlay device and starts keeping
// its routes to the other nodes current.
func (c *Client) joinClusterNetwork(ctx context.Context, loops func(func())) error {
	cs, ok := c.servers.(clusterServers)
	if !ok {
		return fmt.Errorf("cluster network: the servers offer no subnet leases")
	}
	vtep := c.Node().Attributes["unique.network.ip-address"]
	ov, err := network.NewOverlay(vtep)
	if err != nil {
		return err
	}
	backoff := minRetry
	var lease *structs.SubnetLease
	for {
		lease, err = cs.LeaseSubnet(&structs.SubnetLeaseArgs{
			NodeID: c.nodeID, CIDR: c.cfg.ClusterNetworkCIDR, VTEP: vtep, VTEPMAC: ov.MAC(),
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
	if err := ov.Ensure(c.network.Subnet()); err != nil {
		return fmt.Errorf("cluster network: %w", err)
	}
	c.logger.Warn("cluster network joined: traffic between nodes crosses an UNENCRYPTED VXLAN overlay; run it on a network you trust",
		"cidr", c.cfg.ClusterNetworkCIDR, "subnet", lease.Subnet, "device", network.OverlayDevice, "vtep", vtep)
	loops(func() { c.watchClusterNetwork(ctx, cs, ov) })
	return nil
}

// watchClusterNetwork follows the live nodes' leases with a blocking query
// and syncs the overlay's routes to them: a node that joins gains a route
// within one round trip, one that goes down loses it.
func (c *Client) watchClusterNetwork(ctx context.Context, cs clusterServers, ov *network.Overlay) {
	var index uint64
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
		var peers []network.Peer
		for _, l := range leases {
			if l.NodeID != c.nodeID {
				peers = append(peers, network.Peer{Subnet: l.Subnet, VTEP: l.VTEP, MAC: l.VTEPMAC})
			}
		}
		if err := ov.Sync(peers); err != nil {
			c.logger.Error("sync cluster network routes", "error", err)
			continue
		}
		c.logger.Info("cluster network routes synced", "peers", len(peers))
	}
}
