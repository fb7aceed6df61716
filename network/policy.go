package network

import (
	"fmt"
	"net"

	"github.com/coreos/go-iptables/iptables"
)

// Policy chains: a policy lives in the allocation's own namespace (its
// INPUT chain), so it holds for every source, the allocations of the same
// bridge included, whether or not the kernel passes bridged traffic to
// iptables (br_netfilter). A new policy is built in the chain not in use
// and swapped in, so that an update never lets traffic through.
var policyChains = [2]string{"ROAM-POLICY-A", "ROAM-POLICY-B"}

// applyPolicy lets into the allocation only replies, loopback, the node
// itself (its bridge address: health checks, the ingress) and the allowed
// source addresses; the rest is dropped.
func applyPolicy(s *Status, allowed []string) error {
	return InNamespace(s.Namespace, func() error {
		ipt, err := iptables.New()
		if err != nil {
			return fmt.Errorf("iptables in %s: %w", s.Namespace, err)
		}
		active, err := activePolicy(ipt)
		if err != nil {
			return err
		}
		next := policyChains[0]
		if active == policyChains[0] {
			next = policyChains[1]
		}
		if err := ipt.ClearChain("filter", next); err != nil { // creates it too
			return fmt.Errorf("iptables -N %s: %w", next, err)
		}
		rules := [][]string{
			{"-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
			{"-i", "lo", "-j", "ACCEPT"},
		}
		if gw := net.ParseIP(s.Gateway); gw != nil {
			rules = append(rules, []string{"-s", gw.String() + "/32", "-j", "ACCEPT"})
		}
		for _, ip := range allowed {
			rules = append(rules, []string{"-s", ip + "/32", "-j", "ACCEPT"})
		}
		rules = append(rules, []string{"-j", "DROP"})
		for _, r := range rules {
			if err := ipt.Append("filter", next, r...); err != nil {
				return fmt.Errorf("iptables -A %s: %w", next, err)
			}
		}
		if err := ipt.Insert("filter", "INPUT", 1, "-j", next); err != nil {
			return fmt.Errorf("iptables -I INPUT -j %s: %w", next, err)
		}
		if active != "" {
			return dropPolicyChain(ipt, active)
		}
		return nil
	})
}

// removePolicy lets everyone into the allocation again.
func removePolicy(s *Status) error {
	return InNamespace(s.Namespace, func() error {
		ipt, err := iptables.New()
		if err != nil {
			return fmt.Errorf("iptables in %s: %w", s.Namespace, err)
		}
		for _, c := range policyChains {
			if err := dropPolicyChain(ipt, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// activePolicy is the policy chain INPUT jumps to, or "".
func activePolicy(ipt *iptables.IPTables) (string, error) {
	for _, c := range policyChains {
		if exists, err := ipt.ChainExists("filter", c); err != nil || !exists {
			continue
		}
		ok, err := ipt.Exists("filter", "INPUT", "-j", c)
		if err != nil {
			return "", fmt.Errorf("iptables -C INPUT -j %s: %w", c, err)
		}
		if ok {
			return c, nil
		}
	}
	return "", nil
}

// dropPolicyChain removes INPUT's jump to chain and the chain, if present.
func dropPolicyChain(ipt *iptables.IPTables, chain string) error {
	exists, err := ipt.ChainExists("filter", chain)
	if err != nil || !exists {
		return err
	}
	if err := ipt.DeleteIfExists("filter", "INPUT", "-j", chain); err != nil {
		return fmt.Errorf("iptables -D INPUT -j %s: %w", chain, err)
	}
	return ipt.ClearAndDeleteChain("filter", chain)
}
