package network

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// Chains Roam owns; the built-in chains only jump to them.
const (
	portMapChain  = "ROAM-PORTMAP"     // nat: host port → allocation address
	postChain     = "ROAM-POSTROUTING" // nat: masquerade leaving the subnet
	forwardChain  = "ROAM-FORWARD"     // filter: accept the bridge's traffic
	inputChain    = "ROAM-INPUT"       // filter: keep the cluster network off the host's services
	ruleCommentOf = "roam alloc "
)

// firewall holds the iptables rules of the node's bridge and port mappings.
type firewall struct {
	ipt     *iptables.IPTables
	bridge  string
	subnet  *net.IPNet
	cluster *net.IPNet // nil without a cluster network
}

func newFirewall(bridge string, subnet, cluster *net.IPNet) (*firewall, error) {
	ipt, err := iptables.New()
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	return &firewall{ipt: ipt, bridge: bridge, subnet: subnet, cluster: cluster}, nil
}

// jump is a rule of a built-in chain that sends traffic to one of Roam's.
type jump struct {
	table, chain string
	spec         []string
}

// ensureBase creates Roam's chains, the jumps into them and the bridge's
// masquerading and forwarding rules; every step is idempotent.
func (f *firewall) ensureBase() error {
	local := []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", portMapChain}
	jumps := []jump{
		{"nat", "PREROUTING", local},
		{"nat", "OUTPUT", local},
		{"nat", "POSTROUTING", []string{"-j", postChain}},
		{"filter", "FORWARD", []string{"-j", forwardChain}},
		{"filter", "INPUT", []string{"-j", inputChain}},
	}
	for _, c := range []jump{{"nat", portMapChain, nil}, {"nat", postChain, nil}, {"filter", forwardChain, nil},
		{"filter", inputChain, nil}} {
		exists, err := f.ipt.ChainExists(c.table, c.chain)
		if err != nil {
			return fmt.Errorf("iptables -t %s %s: %w", c.table, c.chain, err)
		}
		if !exists {
			if err := f.ipt.NewChain(c.table, c.chain); err != nil {
				return fmt.Errorf("iptables -t %s -N %s: %w", c.table, c.chain, err)
			}
		}
	}
	var rules []jump
	if f.cluster != nil {
		// Allocation to allocation across nodes keeps its source address.
		rules = append(rules, jump{"nat", postChain, []string{"-s", f.subnet.String(), "-d", f.cluster.String(), "-j", "RETURN"}})
	}
	rules = append(rules, []jump{
		{"nat", postChain, []string{"-s", f.subnet.String(), "!", "-o", f.bridge, "-j", "MASQUERADE"}},
		{"nat", postChain, []string{"-s", "127.0.0.0/8", "-o", f.bridge, "-j", "MASQUERADE"}},
		{"filter", forwardChain, []string{"-i", f.bridge, "-j", "ACCEPT"}},
		{"filter", forwardChain, []string{"-o", f.bridge, "-j", "ACCEPT"}},
	}...)
	// What other nodes' allocations send to this host itself (not to its
	// allocations, which is forwarded) is dropped, replies aside: the
	// cluster network reaches allocations, and host services only through
	// mapped ports.
	for _, dev := range OverlayDevices {
		rules = append(rules,
			jump{"filter", inputChain, []string{"-i", dev, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"}},
			jump{"filter", inputChain, []string{"-i", dev, "-j", "DROP"}})
	}
	for _, r := range rules {
		if err := f.ipt.AppendUnique(r.table, r.chain, r.spec...); err != nil {
			return fmt.Errorf("iptables -t %s -A %s: %w", r.table, r.chain, err)
		}
	}
	for _, j := range jumps {
		if err := f.ipt.InsertUnique(j.table, j.chain, 1, j.spec...); err != nil {
			return fmt.Errorf("iptables -t %s -I %s: %w", j.table, j.chain, err)
		}
	}
	return f.dropHostPolicies()
}

// legacyPolicyPrefix names the per-allocation policy chains earlier
// versions kept in the host's filter table; policies now live in the
// allocations' namespaces (policy.go).
const legacyPolicyPrefix = "ROAM-POL-"

// dropHostPolicies removes the host-side policy chains of earlier
// versions, whose address lists would otherwise never be updated again.
func (f *firewall) dropHostPolicies() error {
	rules, err := f.ipt.List("filter", forwardChain)
	if err != nil {
		return fmt.Errorf("iptables -S %s: %w", forwardChain, err)
	}
	for _, r := range rules {
		fields := strings.Fields(r)
		if len(fields) < 2 || fields[0] != "-A" || !strings.Contains(r, "-j "+legacyPolicyPrefix) {
			continue
		}
		if err := f.ipt.Delete("filter", forwardChain, fields[2:]...); err != nil {
			return fmt.Errorf("iptables -D %s %s: %w", forwardChain, r, err)
		}
	}
	chains, err := f.ipt.ListChains("filter")
	if err != nil {
		return fmt.Errorf("iptables -L: %w", err)
	}
	for _, c := range chains {
		if strings.HasPrefix(c, legacyPolicyPrefix) {
			if err := f.ipt.ClearAndDeleteChain("filter", c); err != nil {
				return fmt.Errorf("iptables -X %s: %w", c, err)
			}
		}
	}
	return nil
}

// portRules are the DNAT rules of an allocation's port mappings, TCP and UDP.
func portRules(s *Status) [][]string {
	var out [][]string
	for _, p := range s.Ports {
		to := p.To
		if to <= 0 {
			to = p.HostPort
		}
		for _, proto := range []string{"tcp", "udp"} {
			spec := []string{"-p", proto, "--dport", strconv.Itoa(p.HostPort)}
			if ip := net.ParseIP(p.HostIP); ip != nil && !ip.IsUnspecified() {
				spec = append(spec, "-d", ip.String()+"/32")
			}
			spec = append(spec, "-m", "comment", "--comment", ruleCommentOf+s.AllocID,
				"-j", "DNAT", "--to-destination", net.JoinHostPort(s.Address, strconv.Itoa(to)))
			out = append(out, spec)
		}
	}
	return out
}

// mapPorts adds an allocation's port mappings.
func (f *firewall) mapPorts(s *Status) error {
	for _, spec := range portRules(s) {
		if err := f.ipt.AppendUnique("nat", portMapChain, spec...); err != nil {
			return fmt.Errorf("map port (%v): %w", spec, err)
		}
	}
	return nil
}

// unmapPorts removes an allocation's port mappings; missing ones are fine.
func (f *firewall) unmapPorts(s *Status) error {
	for _, spec := range portRules(s) {
		if err := f.ipt.DeleteIfExists("nat", portMapChain, spec...); err != nil {
			return fmt.Errorf("unmap port (%v): %w", spec, err)
		}
	}
	return nil
}
