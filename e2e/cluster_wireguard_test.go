package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/sys/unix"

	"github.com/roam-project/roam/internal/capture"
	"github.com/roam-project/roam/network"
	"github.com/roam-project/roam/network/wireguard"
	"github.com/roam-project/roam/structs"
)

// requireTUN skips unless userspace WireGuard can run.
func requireTUN(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun: userspace WireGuard cannot run here")
	}
}

// TestClusterNetworkWireGuard runs one server and three clients, each
// client in a network namespace of its own on a shared underlay, with the
// WireGuard overlay: a bridge-mode system job's allocations reach one
// another by cluster address, only WireGuard's UDP crosses the underlay,
// the cluster network does not reach the nodes' own services (mapped
// ports aside), allocations get the overlay's MTU, a network policy drops
// the allocations and namespaces it does not admit (on the same node too),
// and a node that goes away loses its peer entry and route on the others.
func TestClusterNetworkWireGuard(t *testing.T) {
	requireNetns(t)
	requireTUN(t)
	c := startNodes(t, 3, "wireguard")
	hostOf := map[string]*testHost{} // alloc ID → its node's host
	for _, al := range c.allocs {
		n, _, err := c.cli.Nodes().Info(al.NodeID, nil)
		mustNet(t, err)
		for _, h := range c.hosts {
			if h.name == n.Name {
				hostOf[al.ID] = h
			}
		}
	}

	t.Run("every allocation reaches the others over WireGuard", func(t *testing.T) {
		for _, from := range c.allocs {
			for _, to := range c.allocs {
				if from.ID == to.ID {
					continue
				}
				addr := net.JoinHostPort(to.NetworkStatus.Address, "8080")
				var last string
				waitUntil(t, 20*time.Second, fmt.Sprintf("%s reaching %s", from.NetworkStatus.Address, addr), func() bool {
					last = getFrom(network.NamespacePath(from.ID), addr)
					return strings.Contains(last, "hello from webapp")
				})
			}
		}
	})

	t.Run("allocations get the overlay's MTU", func(t *testing.T) {
		const want = 1500 - 80 // the underlay's less WireGuard's encapsulation
		for _, al := range c.allocs {
			ns, err := netns.GetFromPath(network.NamespacePath(al.ID))
			mustNet(t, err)
			h, err := netlink.NewHandleAt(ns)
			mustNet(t, err)
			eth0, err := h.LinkByName("eth0")
			mustNet(t, err)
			if got := eth0.Attrs().MTU; got != want {
				t.Errorf("allocation %s: eth0 MTU %d, want %d", al.ID, got, want)
			}
			h.Close()
			ns.Close()
		}
	})

	t.Run("the underlay carries only encrypted UDP", func(t *testing.T) {
		from, to := c.allocs[0], c.allocs[1]
		veth := underlayVeth(c.hosts, hostOf[to.ID])
		capt, err := capture.Start("", veth)
		mustNet(t, err)
		const marker = "roam-wireguard-marker-42"
		addr := net.JoinHostPort(to.NetworkStatus.Address, "8080")
		got := getPath(network.NamespacePath(from.ID), addr, "/"+marker)
		pkts := capt.Stop()
		if !strings.Contains(got, "HTTP/1.") {
			t.Fatalf("GET %s: %q", addr, got)
		}
		_, cluster, _ := net.ParseCIDR("10.42.0.0/16")
		wg := 0
		for _, p := range pkts {
			switch {
			case bytes.Contains(p.Data, []byte(marker)):
				t.Errorf("the request crossed the underlay in the clear: %s → %s proto %d", p.Src, p.Dst, p.Proto)
			case cluster.Contains(p.Src) || cluster.Contains(p.Dst):
				t.Errorf("a cluster packet crossed the underlay unencapsulated: %s → %s proto %d", p.Src, p.Dst, p.Proto)
			case p.Proto == unix.IPPROTO_UDP && p.DstPort == wireguard.DefaultPort:
				wg++
			}
		}
		if wg == 0 {
			t.Errorf("no WireGuard packets (UDP %d) among the %d captured on %s", wireguard.DefaultPort, len(pkts), veth)
		}
	})

	t.Run("the cluster network reaches host services only through mapped ports", func(t *testing.T) {
		from, to := c.allocs[0], c.allocs[1]
		target := hostOf[to.ID]
		var ln net.Listener
		mustNet(t, network.InNamespace(target.nsPath, func() error {
			var err error
			ln, err = net.Listen("tcp", ":9555")
			return err
		}))
		defer ln.Close()
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				// The whole request read first: closing on unread data
				// would reset the connection before the answer is read.
				r := bufio.NewReader(conn)
				for {
					if line, err := r.ReadString('\n'); err != nil || line == "\r\n" {
						break
					}
				}
				fmt.Fprintln(conn, "host service")
				conn.Close()
			}
		}()
		gw := strings.TrimSuffix(to.NetworkStatus.Address, lastOctet(to.NetworkStatus.Address)) + "1"
		if got := getWithin(network.NamespacePath(from.ID), net.JoinHostPort(gw, "9555"), time.Second); strings.Contains(got, "host service") {
			t.Errorf("an allocation reached the other node's host service at %s:9555 over the cluster network", gw)
		}
		if got := getWithin(target.nsPath, net.JoinHostPort(gw, "9555"), time.Second); !strings.Contains(got, "host service") {
			t.Fatalf("the host service does not answer locally: %q", got)
		}
		port := mappedPort(t, to)
		addr := net.JoinHostPort(target.ip, fmt.Sprint(port))
		waitUntil(t, 15*time.Second, "the mapped port "+addr, func() bool {
			return strings.Contains(getFrom(network.NamespacePath(from.ID), addr), "hello from webapp")
		})
	})

	t.Run("a network policy drops the allocations it does not admit", func(t *testing.T) {
		guarded := runSystemWebJob(t, c, "guarded", map[string]string{structs.IngressFromMeta: "service:pong"})
		intruders := runSystemWebJob(t, c, "intruder", nil)
		g := guarded[0]
		addr := net.JoinHostPort(g.NetworkStatus.Address, "8080")
		for _, src := range c.allocs {
			waitUntil(t, 15*time.Second, "pong reaching "+addr, func() bool {
				return strings.Contains(getFrom(network.NamespacePath(src.ID), addr), "hello from webapp")
			})
		}
		for _, in := range intruders {
			waitUntil(t, 15*time.Second, "the intruder dropped at "+addr, func() bool {
				return !strings.Contains(getWithin(network.NamespacePath(in.ID), addr, 300*time.Millisecond), "hello from webapp")
			})
		}
	})

	t.Run("a network policy drops the namespaces it does not admit", func(t *testing.T) {
		_, err := c.cli.Namespaces().Register(&api.Namespace{Name: "ops"}, nil)
		mustNet(t, err)
		guarded := runSystemWebJob(t, c, "ops-only", map[string]string{structs.IngressFromMeta: "namespace:ops"})
		ops := runSystemWebJobIn(t, c, "ops", "ops-client", nil)
		for _, g := range guarded {
			addr := net.JoinHostPort(g.NetworkStatus.Address, "8080")
			for _, src := range ops {
				waitUntil(t, 15*time.Second, "ops reaching "+addr, func() bool {
					return strings.Contains(getFrom(network.NamespacePath(src.ID), addr), "hello from webapp")
				})
			}
			for _, src := range c.allocs { // namespace default
				waitUntil(t, 15*time.Second, "default dropped at "+addr, func() bool {
					return !strings.Contains(getWithin(network.NamespacePath(src.ID), addr, 300*time.Millisecond), "hello from webapp")
				})
			}
		}
	})

	t.Run("a node that goes away loses its peer and route on the others", func(t *testing.T) {
		gone := c.clients[2]
		var goneHost *testHost
		for _, h := range c.hosts {
			if h.nsPath == gone.nsPath {
				goneHost = h
			}
		}
		var goneAlloc *api.Allocation
		for _, al := range c.allocs {
			if hostOf[al.ID] == goneHost {
				goneAlloc = al
			}
		}
		_, goneSubnet, _ := net.ParseCIDR(goneAlloc.NetworkStatus.Address + "/24")
		goneKey := wgPublicKey(t, gone)
		for _, other := range c.clients[:2] {
			if !contains(wgPeers(t, other), goneKey) {
				t.Fatalf("%s does not peer with %s before it goes", other.name, gone.name)
			}
		}
		t.Cleanup(func() {
			if t.Failed() {
				for _, a := range c.clients {
					t.Logf("%s's WireGuard device:\n%s", a.name, wgState(t, a))
				}
			}
		})
		start := time.Now()
		gone.kill()
		for i, other := range c.clients[:2] {
			waitUntil(t, 20*time.Second, other.name+" dropping the gone node", func() bool {
				return !hasRouteIn(t, c.hosts[i].nsPath, goneSubnet) && !contains(wgPeers(t, other), goneKey)
			})
		}
		t.Logf("%s gone from its peers after %s", gone.name, time.Since(start).Round(time.Millisecond))
		start = time.Now()
		gone.start(t)
		for i, other := range c.clients[:2] {
			waitUntil(t, 20*time.Second, other.name+" peering with the node back", func() bool {
				return hasRouteIn(t, c.hosts[i].nsPath, goneSubnet) && contains(wgPeers(t, other), goneKey)
			})
		}
		t.Logf("%s peered with again %s after its restart", gone.name, time.Since(start).Round(time.Millisecond))
		// A new job's allocation there is reached from the others.
		start = time.Now()
		after := runSystemWebJob(t, c, "after", nil)
		t.Logf("a new job running on every node after %s", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		defer func() { t.Logf("its allocation there reached after %s", time.Since(start).Round(time.Millisecond)) }()
		for _, al := range after {
			if al.NodeID != goneAlloc.NodeID {
				continue
			}
			addr := net.JoinHostPort(al.NetworkStatus.Address, "8080")
			for _, src := range c.allocs {
				if hostOf[src.ID] == goneHost {
					continue
				}
				// The returned node and its peers handshake within a
				// second of listing each other (see wireguard's
				// watchHandshakes and TestClusterNetworkWireGuardRejoin).
				waitUntil(t, 5*time.Second, "reaching the returned node's allocation at "+addr, func() bool {
					return strings.Contains(getFrom(network.NamespacePath(src.ID), addr), "hello from webapp")
				})
			}
		}
	})
}

// underlayVeth is the host side of h's underlay veth pair.
func underlayVeth(hosts []*testHost, h *testHost) string {
	for i, x := range hosts {
		if x == h {
			return fmt.Sprintf("rtul%d", i+1)
		}
	}
	return ""
}

func lastOctet(ip string) string { return ip[strings.LastIndexByte(ip, '.')+1:] }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mappedPort is the host port of the allocation's "http" port.
func mappedPort(t testing.TB, a *api.Allocation) int {
	t.Helper()
	if a.AllocatedResources != nil {
		for _, p := range a.AllocatedResources.Shared.Ports {
			if p.Label == "http" {
				return p.Value
			}
		}
	}
	t.Fatalf("allocation %s has no http port", a.ID)
	return 0
}

// getPath is getFrom for a path of its own.
func getPath(nsPath, addr, path string) string {
	var body string
	err := network.InNamespace(nsPath, func() error {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr)
		b, err := io.ReadAll(c)
		body = string(b)
		return err
	})
	if err != nil {
		return err.Error()
	}
	return body
}

// wgSocket is the UAPI socket of the agent's WireGuard device.
func wgSocket(a *nsAgent) string {
	return filepath.Join(filepath.Dir(a.conf), "data", "client", wireguard.SocketFile)
}

// wgPeers lists the public keys (base64) the agent's device peers with,
// through its UAPI socket (what `wg show` reads).
func wgPeers(t testing.TB, a *nsAgent) []string {
	t.Helper()
	var keys []string
	for _, kv := range wgGet(t, a) {
		if k, ok := strings.CutPrefix(kv, "public_key="); ok {
			raw, err := hex.DecodeString(k)
			mustNet(t, err)
			keys = append(keys, base64.StdEncoding.EncodeToString(raw))
		}
	}
	return keys
}

// wgPublicKey is the agent's own public key, from its private key file.
func wgPublicKey(t testing.TB, a *nsAgent) string {
	t.Helper()
	for _, kv := range wgGet(t, a) {
		if k, ok := strings.CutPrefix(kv, "private_key="); ok {
			raw, err := hex.DecodeString(k)
			mustNet(t, err)
			pub, err := curve25519.X25519(raw, curve25519.Basepoint)
			mustNet(t, err)
			return base64.StdEncoding.EncodeToString(pub)
		}
	}
	t.Fatalf("%s: no private key in the UAPI answer", a.name)
	return ""
}

// wgState is the agent's device state as UAPI reports it, less its key.
func wgState(t testing.TB, a *nsAgent) string {
	var out []string
	for _, kv := range wgGet(t, a) {
		if !strings.HasPrefix(kv, "private_key=") && !strings.HasPrefix(kv, "preshared_key=") {
			out = append(out, kv)
		}
	}
	return strings.Join(out, "\n")
}

// wgGet sends the UAPI get request and returns its key=value lines.
func wgGet(t testing.TB, a *nsAgent) []string {
	t.Helper()
	lines, err := wgQuery(a)
	mustNet(t, err)
	return lines
}

// wgQuery is wgGet for a device that may not be there (yet).
func wgQuery(a *nsAgent) ([]string, error) {
	conn, err := net.Dial("unix", wgSocket(a))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "get=1\n\n"); err != nil {
		return nil, err
	}
	var lines []string
	for sc := bufio.NewScanner(conn); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "errno=") {
			break
		}
		lines = append(lines, sc.Text())
	}
	return lines, nil
}

// lists reports whether the agent's device peers with every key of keys
// (false while it has no device).
func lists(a *nsAgent, keys ...string) bool {
	lines, err := wgQuery(a)
	if err != nil {
		return false
	}
	for _, k := range keys {
		raw, _ := base64.StdEncoding.DecodeString(k)
		if !contains(lines, "public_key="+hex.EncodeToString(raw)) {
			return false
		}
	}
	return true
}

// TestClusterNetworkWireGuardRejoin has one node of three leave (its
// client killed, until the others drop it as down) and come back ten
// times: each time, once the node and the others list one another again
// and a new system job runs, the others' allocations reach its allocation
// there within rejoinWait. It logs, with the machine's load, the times
// from the restart to the first answer and from the job running to it.
//
// Each trial adds a port to every node's bridge (and the return replaces
// the node's allocations): the bridge's hardware address used to follow
// its lowest port's, so that the allocations' cached gateway address went
// stale and their packets were lost for 6-30 s, handshakes or not.
func TestClusterNetworkWireGuardRejoin(t *testing.T) {
	requireNetns(t)
	requireTUN(t)
	c := startNodes(t, 3, "wireguard")
	const rejoinWait = 3 * time.Second
	const trials = 10
	node, others := c.clients[2], c.clients[:2]
	keys := []string{wgPublicKey(t, others[0]), wgPublicKey(t, others[1])}
	nodeKey := wgPublicKey(t, node)
	nodeID := ""
	var from []*api.Allocation // the others' allocations
	for _, al := range c.allocs {
		n, _, err := c.cli.Nodes().Info(al.NodeID, nil)
		mustNet(t, err)
		if n.Name == node.name {
			nodeID = n.ID
		} else {
			from = append(from, al)
		}
	}
	if nodeID == "" || len(from) != 2 {
		t.Fatalf("no allocation on %s, or not one on each other node", node.name)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, a := range c.clients {
				lines, err := wgQuery(a)
				t.Logf("%s's WireGuard device (%v):\n%s", a.name, err, strings.Join(slices.DeleteFunc(lines, func(l string) bool {
					return strings.HasPrefix(l, "private_key=")
				}), "\n"))
			}
		}
	})
	var total, fromListed []time.Duration
	for i := range trials {
		node.kill()
		waitUntil(t, 20*time.Second, "the others dropping "+node.name, func() bool {
			return !lists(others[0], nodeKey) && !lists(others[1], nodeKey)
		})
		start := time.Now()
		node.start(t)
		waitUntil(t, 20*time.Second, node.name+" back, listed by the others and listing them", func() bool {
			return lists(node, keys...) && lists(others[0], nodeKey) && lists(others[1], nodeKey)
		})
		job := fmt.Sprintf("rejoin-%d", i)
		var target string
		for _, al := range runSystemWebJob(t, c, job, nil) {
			if al.NodeID == nodeID {
				target = net.JoinHostPort(al.NetworkStatus.Address, "8080")
			}
		}
		listed := time.Now()
		for _, src := range from {
			waitUntil(t, rejoinWait, fmt.Sprintf("trial %d: reaching %s from %s", i, target, src.NetworkStatus.Address), func() bool {
				return strings.Contains(getWithin(network.NamespacePath(src.ID), target, time.Second), "hello from webapp")
			})
		}
		total = append(total, time.Since(start))
		fromListed = append(fromListed, time.Since(listed))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("restart to first answer from both others: %s; job running to first answer: %s; load %s",
		spread(total), spread(fromListed), strings.TrimSpace(string(load)))
}

// spread is the min, median and max of ds.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("min %s, median %s, max %s (%d trials)", r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]), len(s))
}

// TestClusterNetworkWireGuardClientRestart restarts a client agent (killed
// as a crash would, and stopped as for an upgrade), starting it again
// after downFor, while an allocation on another node sends a request to
// the restarted node's allocation every 50 ms: the WireGuard device, in a
// process of its own, keeps carrying them (no gap over maxGap), and the
// restarted client adopts the same device process; a client started
// without a cluster network at last stops it. The servers' heartbeat grace (10 s, Nomad's default) is
// longer than the restart, so no node is marked down meanwhile.
func TestClusterNetworkWireGuardClientRestart(t *testing.T) {
	requireNetns(t)
	requireTUN(t)
	c := startNodesGrace(t, 2, "wireguard", 10*time.Second)
	node, other := c.clients[1], c.clients[0]
	var from, to *api.Allocation
	for _, al := range c.allocs {
		n, _, err := c.cli.Nodes().Info(al.NodeID, nil)
		mustNet(t, err)
		if n.Name == node.name {
			to = al
		} else {
			from = al
		}
	}
	if from == nil || to == nil {
		t.Fatalf("no allocation on each node: %v", c.allocs)
	}
	addr := net.JoinHostPort(to.NetworkStatus.Address, "8080")
	waitUntil(t, 20*time.Second, "reaching "+addr, func() bool {
		return strings.Contains(getFrom(network.NamespacePath(from.ID), addr), "hello from webapp")
	})
	stateDir := filepath.Join(filepath.Dir(node.conf), "data", "client")
	otherKey := wgPublicKey(t, other)
	const maxGap, downFor = time.Second, 2 * time.Second
	cases := []struct {
		name string
		end  func()
	}{
		{"killed", node.kill},
		{"stopped", node.stop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pid, err := os.ReadFile(filepath.Join(stateDir, wireguard.PIDFile))
			mustNet(t, err)
			stop := make(chan struct{})
			result := make(chan [2]time.Duration) // the longest gap, the time measured
			go func() {
				begin := time.Now()
				last, worst := begin, time.Duration(0)
				for {
					select {
					case <-stop:
						result <- [2]time.Duration{max(worst, time.Since(last)), time.Since(begin)}
						return
					case <-time.After(50 * time.Millisecond):
					}
					if strings.Contains(getWithin(network.NamespacePath(from.ID), addr, 300*time.Millisecond), "hello from webapp") {
						worst, last = max(worst, time.Since(last)), time.Now()
					}
				}
			}()
			time.Sleep(300 * time.Millisecond)
			synced := func() int {
				log, _ := os.ReadFile(node.log.Name())
				return strings.Count(string(log), "cluster network routes synced")
			}
			before := synced()
			start := time.Now()
			tc.end()
			time.Sleep(downFor) // as an upgrade's would, for longer than a packet's retries
			node.start(t)
			waitUntil(t, 20*time.Second, node.name+"'s client back on the cluster network", func() bool {
				return synced() > before && lists(node, otherKey)
			})
			time.Sleep(500 * time.Millisecond)
			close(stop)
			r := <-result
			if r[0] > maxGap {
				t.Errorf("requests to %s stopped for %s during the restart, want at most %s", addr, r[0].Round(time.Millisecond), maxGap)
			}
			t.Logf("client %s and back in %s: longest gap between answers %s over %s",
				tc.name, time.Since(start).Round(time.Millisecond), r[0].Round(time.Millisecond), r[1].Round(time.Millisecond))
			after, err := os.ReadFile(filepath.Join(stateDir, wireguard.PIDFile))
			if err != nil || string(after) != string(pid) {
				t.Errorf("device process %q (%v) after the restart, want the same one, %q", after, err, pid)
			}
		})
	}

	t.Run("a client started off the cluster network stops the device", func(t *testing.T) {
		conf, err := os.ReadFile(node.conf)
		mustNet(t, err)
		i, j := strings.Index(string(conf), "  cluster_network {"), strings.Index(string(conf), "\n  }\n}")
		if i < 0 || j < i {
			t.Fatalf("no cluster_network block in %s:\n%s", node.conf, conf)
		}
		node.stop()
		mustNet(t, os.WriteFile(node.conf, append(conf[:i:i], conf[j+len("\n  }\n"):]...), 0o644))
		node.start(t)
		waitUntil(t, 20*time.Second, "the device process and its device gone", func() bool {
			_, pidErr := os.Stat(filepath.Join(stateDir, wireguard.PIDFile))
			var linkErr error
			mustNet(t, network.InNamespace(node.nsPath, func() error {
				_, linkErr = netlink.LinkByName(wireguard.Device)
				return nil
			}))
			return os.IsNotExist(pidErr) && linkErr != nil
		})
	})
}

// TestClusterNetworkMixedOverlays runs a WireGuard node with
// `fallback = "vxlan"`, a VXLAN node and a WireGuard-only node: the first
// reaches both (the VXLAN one over VXLAN, saying in its log that this
// traffic is unencrypted), and the other two cannot reach each other.
func TestClusterNetworkMixedOverlays(t *testing.T) {
	requireNetns(t)
	requireTUN(t)
	requireVXLAN(t)
	c := startClusterNetwork(t, time.Second, []nodeNet{
		{overlay: "wireguard", fallback: "vxlan"}, {overlay: "vxlan"}, {overlay: "wireguard"}})
	allocOf := map[string]*api.Allocation{} // host name → its allocation
	for _, al := range c.allocs {
		n, _, err := c.cli.Nodes().Info(al.NodeID, nil)
		mustNet(t, err)
		allocOf[n.Name] = al
	}
	both, vx, wg := c.hosts[0].name, c.hosts[1].name, c.hosts[2].name
	cases := []struct {
		name     string
		from, to string
		reach    bool
	}{
		{"WireGuard with VXLAN too reaches VXLAN", both, vx, true},
		{"VXLAN reaches WireGuard with VXLAN too", vx, both, true},
		{"WireGuard with VXLAN too reaches WireGuard", both, wg, true},
		{"WireGuard reaches WireGuard with VXLAN too", wg, both, true},
		{"VXLAN does not reach WireGuard only", vx, wg, false},
		{"WireGuard only does not reach VXLAN", wg, vx, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from, to := allocOf[tc.from], allocOf[tc.to]
			addr := net.JoinHostPort(to.NetworkStatus.Address, "8080")
			if tc.reach {
				waitUntil(t, 10*time.Second, "reaching "+addr, func() bool {
					return strings.Contains(getFrom(network.NamespacePath(from.ID), addr), "hello from webapp")
				})
				return
			}
			if got := getWithin(network.NamespacePath(from.ID), addr, time.Second); strings.Contains(got, "hello from webapp") {
				t.Errorf("%s reached %s", tc.from, addr)
			}
		})
	}
	t.Run("the node says its VXLAN traffic is unencrypted", func(t *testing.T) {
		log, err := os.ReadFile(c.clients[0].log.Name())
		mustNet(t, err)
		if !strings.Contains(string(log), "traffic with nodes that run VXLAN only is UNENCRYPTED") {
			t.Errorf("%s's log does not say that its VXLAN traffic is unencrypted", both)
		}
	})
}

// TestClusterNetworkWireGuardDevStop runs a -dev agent on the WireGuard
// cluster network: its device process, which outlives a client's restart,
// stops with the dev agent, whose state goes with it.
func TestClusterNetworkWireGuardDevStop(t *testing.T) {
	requireNetns(t)
	requireTUN(t)
	h := newUnderlay(t, 1)[0]
	a := launchAgentIn(t, h.nsPath, h.name, fmt.Sprintf(`bind_addr = %q
client {
  network_interface = "eth0"
  cluster_network {
    cidr = "10.42.0.0/16"
  }
}
`, h.ip), true)
	stateDir := filepath.Join(filepath.Dir(a.conf), "data", "client")
	cli, err := api.NewClient(&api.Config{Address: "http://" + net.JoinHostPort(h.ip, "4646")})
	mustNet(t, err)
	// Ready, so that the agent handles the interrupt (it dies of one
	// while it starts).
	waitUntil(t, 30*time.Second, "a ready node on the cluster network", func() bool {
		nodes, _, err := cli.Nodes().List(nil)
		if err != nil || len(nodes) != 1 || nodes[0].Status != "ready" {
			return false
		}
		_, err = wgQuery(a)
		return err == nil
	})
	a.stop()
	if _, err := os.Stat(filepath.Join(stateDir, wireguard.PIDFile)); !os.IsNotExist(err) {
		t.Errorf("the device's PID file after the dev agent stopped: %v", err)
	}
	mustNet(t, network.InNamespace(h.nsPath, func() error {
		if _, err := netlink.LinkByName(wireguard.Device); err == nil {
			t.Errorf("%s still exists after the dev agent stopped", wireguard.Device)
		}
		return nil
	}))
}
