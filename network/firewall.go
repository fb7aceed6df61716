package network

import (
	"fmt"
	"net"
	"strconv"

	"github.com/coreos/go-iptables/iptables"
)

// Chains Roam owns; the built-in chains only jump to them.
const (
	portMapChain  = "ROAM-PORTMAP"     // nat: host port → allocation address
	postChain     = "ROAM-POSTROUTING" // nat: masquerade leaving the subnet
	forwardChain  = "ROAM-FORWARD"     // filter: accept the bridge's traffic
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
	}
	for _, c := range []jump{{"nat", portMapChain, nil}, {"nat", postChain, nil}, {"filter", forwardChain, nil}} {
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

// policyChain is the filter chain of an allocation's network policy.
func policyChain(allocID string) string {
	if len(allocID) > 8 {
		allocID = allocID[:8]
	}
	return "ROAM-POL-" + allocID
}

// applyPolicy lets into the allocation only replies and traffic from the
// allowed source addresses; the rest is dropped at this node.
func (f *firewall) applyPolicy(s *Status, allowed []string) error {
	chain := policyChain(s.AllocID)
	exists, err := f.ipt.ChainExists("filter", chain)
	if err != nil {
		return fmt.Errorf("iptables %s: %w", chain, err)
	}
	if exists {
		err = f.ipt.ClearChain("filter", chain)
	} else {
		err = f.ipt.NewChain("filter", chain)
	}
	if err != nil {
		return fmt.Errorf("iptables %s: %w", chain, err)
	}
	rules := [][]string{{"-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"}}
	for _, ip := range allowed {
		rules = append(rules, []string{"-s", ip + "/32", "-j", "ACCEPT"})
	}
	rules = append(rules, []string{"-j", "DROP"})
	for _, r := range rules {
		if err := f.ipt.Append("filter", chain, r...); err != nil {
			return fmt.Errorf("iptables -A %s: %w", chain, err)
		}
	}
	jump := []string{"-d", s.Address + "/32", "-j", chain}
	if err := f.ipt.InsertUnique("filter", forwardChain, 1, jump...); err != nil {
		return fmt.Errorf("iptables -I %s: %w", forwardChain, err)
	}
	return nil
}

// removePolicy removes the allocation's policy, if it has one.
func (f *firewall) removePolicy(s *Status) error {
	chain := policyChain(s.AllocID)
	exists, err := f.ipt.ChainExists("filter", chain)
	if err != nil || !exists {
		return err
	}
	if err := f.ipt.DeleteIfExists("filter", forwardChain, "-d", s.Address+"/32", "-j", chain); err != nil {
		return fmt.Errorf("iptables -D %s: %w", forwardChain, err)
	}
	return f.ipt.ClearAndDeleteChain("filter", chain)
}
