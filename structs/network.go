package structs

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Node attributes that say which network modes a node offers; groups that
// ask for a mode are placed only on nodes that have its attribute.
const (
	NodeAttrNetworkNamespaces = "network.namespaces" // "none" mode
	NodeAttrNetworkBridge     = "network.bridge"     // "bridge" mode
	NodeAttrNetworkCluster    = "network.cluster"    // the cluster network's overlay ("wireguard", "vxlan")
)

// SubnetLease is a node's share of the cluster network: the subnet its
// bridge-mode allocations take addresses from, and where its overlay
// endpoint is.
type SubnetLease struct {
	NodeID string
	// Subnet is a /24 of the cluster network's CIDR ("10.42.3.0/24").
	Subnet string
	// Overlay is the node's overlay, "wireguard" or "vxlan" ("" in leases
	// made before there was a choice: VXLAN).
	Overlay string
	// VTEP is the node's underlay address; VTEPMAC a VXLAN overlay
	// device's hardware address.
	VTEP, VTEPMAC string
	// WireGuardKey (base64) and WireGuardPort are a WireGuard node's
	// public key and UDP port.
	WireGuardKey  string
	WireGuardPort int
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
	Overlay       string
	VTEP, VTEPMAC string
	WireGuardKey  string
	WireGuardPort int
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

// AllocAddress is a live allocation's own address (bridge mode), with what
// network policies match on: its namespace and the services it registered.
type AllocAddress struct {
	AllocID, Namespace, Address string
	Services                    []string
}

// AllocAddressesArgs is a blocking query for the live allocations'
// addresses, for network policies.
type AllocAddressesArgs struct {
	NodeID   string
	MinIndex uint64
	Wait     time.Duration
	NodeAuth
}

// AllocAddressesReply lists the addresses.
type AllocAddressesReply struct {
	Addresses []*AllocAddress
	Index     uint64
}

// IngressFromMeta is the group meta key of Roam's network policy: a
// comma-separated list of "service:NAME" and "namespace:NAME"; a bridge-mode
// allocation of the group then accepts connections only from allocations
// registering such a service (in its namespace) or in such a namespace.
const IngressFromMeta = "roam.ingress_from"

// IngressRule is one entry of a network policy.
type IngressRule struct {
	// Kind is "service" or "namespace".
	Kind, Name string
}

// ParseIngressFrom reads a network policy; "" is none (nil).
func ParseIngressFrom(v string) ([]IngressRule, error) {
	var out []IngressRule
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, name, ok := strings.Cut(item, ":")
		if !ok || (kind != "service" && kind != "namespace") || name == "" {
			return nil, fmt.Errorf("meta %s: %q is not service:NAME or namespace:NAME", IngressFromMeta, item)
		}
		out = append(out, IngressRule{Kind: kind, Name: name})
	}
	return out, nil
}

// Allows reports whether a source allocation matches one of the rules; dst
// is the namespace of the allocation the rules protect.
func Allows(rules []IngressRule, dstNamespace string, src *AllocAddress) bool {
	for _, r := range rules {
		switch r.Kind {
		case "namespace":
			if src.Namespace == r.Name {
				return true
			}
		case "service":
			if src.Namespace == dstNamespace && slices.Contains(src.Services, r.Name) {
				return true
			}
		}
	}
	return false
}
