package network

import (
	"os"
	"os/exec"

	"github.com/vishvananda/netlink"

	"github.com/roam-project/roam/structs"
)

// The node attributes Fingerprint sets.
const (
	AttrNamespaces = structs.NodeAttrNetworkNamespaces
	AttrBridge     = structs.NodeAttrNetworkBridge
	AttrCluster    = structs.NodeAttrNetworkCluster
)

// Capabilities is what the node's kernel and tools allow, with the reason
// for each missing one.
type Capabilities struct {
	Attributes map[string]string
	Missing    map[string]string // attribute → why it is missing
}

// Fingerprint finds out which network modes the node can offer. cluster is
// the cluster network's overlay, clusterErr why it could not start (both
// nil without a cluster network): a node whose cluster network is down
// offers no bridge mode, since its bridge has no subnet.
func Fingerprint(cluster Overlay, clusterErr error) Capabilities {
	c := Capabilities{Attributes: map[string]string{}, Missing: map[string]string{}}
	switch {
	case os.Geteuid() != 0:
		c.Missing[AttrNamespaces] = "network namespaces need the client to run as root"
	default:
		if _, err := os.Stat("/proc/self/ns/net"); err != nil {
			c.Missing[AttrNamespaces] = "the kernel has no network namespaces"
		}
	}
	if c.Missing[AttrNamespaces] == "" {
		c.Attributes[AttrNamespaces] = "1"
		if _, err := exec.LookPath("iptables"); err != nil {
			c.Missing[AttrBridge] = "iptables is not installed (port mappings need it)"
		} else {
			c.Attributes[AttrBridge] = "1"
		}
	} else {
		c.Missing[AttrBridge] = c.Missing[AttrNamespaces]
	}
	switch {
	case clusterErr != nil:
		c.Missing[AttrCluster] = clusterErr.Error()
		if c.Attributes[AttrBridge] != "" {
			delete(c.Attributes, AttrBridge)
			c.Missing[AttrBridge] = "the cluster network cannot start: " + clusterErr.Error()
		}
	case cluster == nil:
	case c.Attributes[AttrBridge] == "":
		c.Missing[AttrCluster] = c.Missing[AttrBridge]
	default:
		c.Attributes[AttrCluster] = cluster.Kind()
	}
	return c
}

// probeVXLAN creates and deletes a VXLAN device.
func probeVXLAN() error {
	if l, err := netlink.LinkByName(OverlayDevice); err == nil {
		if _, ok := l.(*netlink.Vxlan); ok {
			return nil
		}
	}
	probe := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "roam-vxprobe"}, VxlanId: 4242}
	if err := netlink.LinkAdd(probe); err != nil {
		return err
	}
	return netlink.LinkDel(probe)
}
