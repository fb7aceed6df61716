package structs

import "time"

// Node attributes that say which network modes a node offers; groups that
// ask for a mode are placed only on nodes that have its attribute.
const (
	NodeAttrNetworkNamespaces = "network.namespaces" // "none" mode
	NodeAttrNetworkBridge     = "network.bridge"     // "bridge" mode
	NodeAttrNetworkCluster    = "network.cluster"    // the cluster network's overlay ("vxlan")
)

// SubnetLease is a node's share of the cluster network: the subnet its
// bridge-mode allocations take addresses from, and where its overlay
// endpoint (VXLAN tunnel end point) is.
type SubnetLease struct {
	NodeID string
	// Subnet is a /24 of the cluster network's CIDR ("10.42.3.0/24").
	Subnet string
	// VTEP is the node's underlay address; VTEPMAC its overlay device's
	// hardware address.
	VTEP, VTEPMAC string
	CreateIndex   uint64
	ModifyIndex   uint64
}

// SubnetLeaseRequest (Raft) stores a lease, first removing the leases of
// Release (nodes that are gone), so that their subnets are free again.
type SubnetLeaseRequest struct {
	Lease   *SubnetLease
	Release []string
}

// SubnetLeaseArgs asks for the calling node's lease in CIDR.
type SubnetLeaseArgs struct {
	NodeID        string
	CIDR          string
	VTEP, VTEPMAC string
	NodeAuth
}

// SubnetLeaseReply carries the node's lease.
type SubnetLeaseReply struct {
	Lease *SubnetLease
}

// SubnetLeasesArgs is a blocking query for the leases of the live nodes.
type SubnetLeasesArgs struct {
	NodeID   string
	MinIndex uint64
	Wait     time.Duration
	NodeAuth
}

// SubnetLeasesReply lists the leases of the nodes that are not down.
type SubnetLeasesReply struct {
	Leases []*SubnetLease
	Index  uint64
}
