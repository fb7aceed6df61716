package network

import (
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netns"
)

// inTestHost runs fn in a fresh named network namespace, a machine of its
// own whose bridge does not pass traffic to iptables (no br_netfilter).
func inTestHost(t *testing.T, name string) string {
	t.Helper()
	_ = netns.DeleteNamed(name)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ns, err := netns.NewNamed(name)
		if err == nil {
			ns.Close()
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() { _ = netns.DeleteNamed(name) })
	path := "/var/run/netns/" + name
	err := InNamespace(path, func() error {
		const brnf = "/proc/sys/net/bridge/bridge-nf-call-iptables"
		if _, err := os.Stat(brnf); err == nil {
			return os.WriteFile(brnf, []byte("0"), 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPolicySameBridge runs three allocations on one bridge, without
// br_netfilter: a policy admitting one of them drops the other's
// connections, the node itself still gets in, and removing the policy lets
// everyone in again.
func TestPolicySameBridge(t *testing.T) {
	requireRoot(t)
	host := inTestHost(t, "roam-poltest")
	store := &mapStore{m: map[string]*Status{}}
	var m *Manager
	var guarded, friend, intruder *Status
	err := InNamespace(host, func() error {
		var err error
		// What an earlier version left: a host-side policy chain.
		ipt, err := iptables.New()
		if err != nil {
			return err
		}
		for _, c := range []string{forwardChain, "ROAM-POL-deadbeef"} {
			if err := ipt.NewChain("filter", c); err != nil {
				return err
			}
		}
		if err := ipt.Append("filter", forwardChain, "-d", "10.199.8.9/32", "-j", "ROAM-POL-deadbeef"); err != nil {
			return err
		}
		if m, err = New(Config{Bridge: "roampol0", Subnet: "10.199.8.0/24", Store: store}); err != nil {
			return err
		}
		for _, s := range []struct {
			id  string
			out **Status
		}{{"gggggggg-pol", &guarded}, {"ffffffff-pol", &friend}, {"iiiiiiii-pol", &intruder}} {
			if *s.out, err = m.Setup(Request{AllocID: s.id, Mode: ModeBridge}); err != nil {
				return err
			}
		}
		return nil
	})
	t.Cleanup(func() {
		_ = InNamespace(host, func() error { _, err := m.Reconcile(func(string) bool { return false }); return err })
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("an earlier version's host-side policy chains are removed", func(t *testing.T) {
		var chains []string
		err := InNamespace(host, func() error {
			ipt, err := iptables.New()
			if err == nil {
				chains, err = ipt.ListChains("filter")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chains {
			if strings.HasPrefix(c, legacyPolicyPrefix) {
				t.Errorf("chain %s left in the host's filter table", c)
			}
		}
	})
	serveIn(t, guarded.Namespace, ":8080", "guarded")
	addr := net.JoinHostPort(guarded.Address, "8080")
	if err := m.ApplyPolicy(guarded.AllocID, []string{friend.Address}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, from string, reach bool) {
		t.Helper()
		line, err := dialFrom(from, addr)
		if reach && line != "guarded\n" {
			t.Errorf("dial %s: %q, %v; want an answer", addr, line, err)
		}
		if !reach && err == nil {
			t.Errorf("dial %s answered %q; want it dropped", addr, line)
		}
	}
	cases := []struct {
		name, from string
		reach      bool
	}{
		{"the allowed allocation gets in", friend.Namespace, true},
		{"another allocation of the bridge is dropped", intruder.Namespace, false},
		{"the node itself gets in", host, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.from, tc.reach) })
	}
	t.Run("an updated policy swaps the admitted", func(t *testing.T) {
		if err := m.ApplyPolicy(guarded.AllocID, []string{intruder.Address}); err != nil {
			t.Fatal(err)
		}
		check(t, intruder.Namespace, true)
		check(t, friend.Namespace, false)
	})
	t.Run("no policy admits everyone", func(t *testing.T) {
		if err := m.ApplyPolicy(guarded.AllocID, nil); err != nil {
			t.Fatal(err)
		}
		check(t, intruder.Namespace, true)
		check(t, friend.Namespace, true)
	})
}
