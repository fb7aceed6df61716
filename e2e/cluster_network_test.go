package e2e

import (
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-iptables/iptables"
	"github.com/hashicorp/nomad/api"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/roam-project/roam/network"
	"github.com/roam-project/roam/network/wireguard"
	"github.com/roam-project/roam/structs"
)

// testHost is a simulated machine: a network namespace joined to the
// test's underlay bridge by a veth pair.
type testHost struct {
	name, ip string
	nsPath   string
}

// underlay is the test's "LAN": a bridge on the host with the server's
// address, and a namespace per client machine.
const (
	underlayBridge = "roamul0"
	underlayPrefix = "10.198.0."
)

// newUnderlay creates the bridge and n hosts on it (10.198.0.2, .3, ...);
// everything is removed when the test ends.
func newUnderlay(t testing.TB, n int) []*testHost {
	t.Helper()
	if l, err := netlink.LinkByName(underlayBridge); err == nil {
		_ = netlink.LinkDel(l) // left by an interrupted run
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = underlayBridge
	br := &netlink.Bridge{LinkAttrs: attrs}
	if err := netlink.LinkAdd(br); err != nil {
		t.Skipf("cannot create a bridge: %v", err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(br) })
	// With br_netfilter, bridged frames meet the host's FORWARD chain,
	// whose policy Docker sets to DROP: let the test's LAN through.
	ipt, err := iptables.New()
	mustNet(t, err)
	lan := []string{"-i", underlayBridge, "-o", underlayBridge, "-j", "ACCEPT"}
	mustNet(t, ipt.InsertUnique("filter", "FORWARD", 1, lan...))
	t.Cleanup(func() { _ = ipt.DeleteIfExists("filter", "FORWARD", lan...) })
	mustNet(t, netlink.AddrAdd(br, mustAddr(t, underlayPrefix+"1/24")))
	mustNet(t, netlink.LinkSetUp(br))
	var hosts []*testHost
	for i := range n {
		h := &testHost{name: fmt.Sprintf("roamtest-h%d", i+1), ip: fmt.Sprintf("%s%d", underlayPrefix, i+2)}
		h.nsPath = filepath.Join("/var/run/netns", h.name)
		_ = netns.DeleteNamed(h.name)
		hostSide, peer := fmt.Sprintf("rtul%d", i+1), fmt.Sprintf("rtulp%d", i+1)
		if l, err := netlink.LinkByName(hostSide); err == nil {
			_ = netlink.LinkDel(l)
		}
		mustNet(t, newNamedNamespace(h.name))
		t.Cleanup(func() { _ = netns.DeleteNamed(h.name) })
		va := netlink.NewLinkAttrs()
		va.Name, va.MasterIndex = hostSide, br.Attrs().Index
		mustNet(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: va, PeerName: peer}))
		host, _ := netlink.LinkByName(hostSide)
		mustNet(t, netlink.LinkSetUp(host))
		p, err := netlink.LinkByName(peer)
		mustNet(t, err)
		ns, err := netns.GetFromPath(h.nsPath)
		mustNet(t, err)
		mustNet(t, netlink.LinkSetNsFd(p, int(ns)))
		handle, err := netlink.NewHandleAt(ns)
		mustNet(t, err)
		inside, err := handle.LinkByName(peer)
		mustNet(t, err)
		mustNet(t, handle.LinkSetName(inside, "eth0"))
		mustNet(t, handle.AddrAdd(inside, mustAddr(t, h.ip+"/24")))
		mustNet(t, handle.LinkSetUp(inside))
		lo, _ := handle.LinkByName("lo")
		mustNet(t, handle.LinkSetUp(lo))
		mustNet(t, handle.RouteAdd(&netlink.Route{LinkIndex: inside.Attrs().Index, Gw: net.ParseIP(underlayPrefix + "1")}))
		handle.Close()
		ns.Close()
		hosts = append(hosts, h)
	}
	return hosts
}

// newNamedNamespace creates a named network namespace (as `ip netns add`)
// on a thread that is thrown away afterwards.
func newNamedNamespace(name string) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ns, err := netns.NewNamed(name)
		if err == nil {
			ns.Close()
		}
		done <- err
	}()
	return <-done
}

func mustNet(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustAddr(t testing.TB, cidr string) *netlink.Addr {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// nsAgent is an agent process started inside a network namespace.
type nsAgent struct {
	name, nsPath, conf string
	dev                bool // started with -dev
	cmd                *exec.Cmd
	log                *os.File
}

// startAgentIn starts an agent with config body, inside the namespace
// nsPath ("" is the host's); it is stopped when the test ends.
func startAgentIn(t testing.TB, nsPath, name, body string) *nsAgent {
	t.Helper()
	return launchAgentIn(t, nsPath, name, body, false)
}

// launchAgentIn is startAgentIn for a -dev agent too.
func launchAgentIn(t testing.TB, nsPath, name, body string, dev bool) *nsAgent {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	mustNet(t, os.MkdirAll(dir, 0o755))
	a := &nsAgent{name: name, nsPath: nsPath, conf: filepath.Join(dir, "agent.hcl"), dev: dev}
	mustNet(t, os.WriteFile(a.conf, []byte(fmt.Sprintf("name = %q\ndata_dir = %q\n%s", name, filepath.Join(dir, "data"), body)), 0o644))
	var err error
	a.log, err = os.Create(filepath.Join(dir, "agent.log"))
	mustNet(t, err)
	a.start(t)
	t.Cleanup(func() {
		a.stop()
		// The WireGuard device process outlives its agent (as it should
		// outlive a restart): the test's end is the node's leaving.
		if _, err := wireguard.StopDevice(filepath.Join(dir, "data", "client")); err != nil {
			t.Error(err)
		}
		a.log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(a.log.Name())
			t.Logf("%s log:\n%s", name, tail(string(out), 40))
			if dev, err := os.ReadFile(filepath.Join(dir, "data", "client", wireguard.LogFile)); err == nil {
				t.Logf("%s's WireGuard device log:\n%s", name, tail(string(dev), 40))
			}
		}
	})
	return a
}

func (a *nsAgent) start(t testing.TB) {
	t.Helper()
	args := []string{"agent", "-config", a.conf}
	if a.dev {
		args = append(args, "-dev")
	}
	a.cmd = exec.Command(roamBin, args...)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	mustNet(t, network.InNamespace(a.nsPath, a.cmd.Start))
}

// kill ends the agent as a crash would; its tasks keep running.
func (a *nsAgent) kill() {
	_ = a.cmd.Process.Kill()
	_ = a.cmd.Wait()
}

func (a *nsAgent) stop() {
	if a.cmd.ProcessState != nil {
		return
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		a.kill()
		<-done
	}
}

// buildWebapp builds the test web server for raw_exec tasks.
func buildWebapp(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webapp")
	build := exec.Command("go", "build", "-o", bin, "../drivers/docker/testdata/webapp")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build webapp: %v: %s", err, out)
	}
	return bin
}

// clusterNodes is a server on the host and clients, each in a namespace
// of its own, running one bridge-mode allocation each on the cluster
// network.
type clusterNodes struct {
	hosts   []*testHost
	clients []*nsAgent
	cli     *api.Client
	allocs  []*api.Allocation
	webapp  string // the test web server's binary
}

// requireVXLAN skips unless the kernel can make VXLAN devices.
func requireVXLAN(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/sys/module/vxlan"); err != nil {
		if err := netlink.LinkAdd(&netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "roamvxprobe"}, VxlanId: 9}); err != nil {
			t.Skipf("kernel without VXLAN: %v", err)
		}
		if l, err := netlink.LinkByName("roamvxprobe"); err == nil {
			_ = netlink.LinkDel(l)
		}
	}
}

// startNodes starts the cluster with n clients on the overlay ("vxlan" or
// "wireguard") and waits for the "pong" job's allocations, one a node, to
// run with cluster addresses. The servers mark a node down a second after
// a missed heartbeat.
func startNodes(t testing.TB, n int, overlay string) *clusterNodes {
	t.Helper()
	return startNodesGrace(t, n, overlay, time.Second)
}

// startNodesGrace is startNodes with the servers' heartbeat grace.
func startNodesGrace(t testing.TB, n int, overlay string, grace time.Duration) *clusterNodes {
	t.Helper()
	nets := make([]nodeNet, n)
	for i := range nets {
		nets[i].overlay = overlay
	}
	return startClusterNetwork(t, grace, nets)
}

// nodeNet is one client's `cluster_network { overlay, fallback }`.
type nodeNet struct{ overlay, fallback string }

// startClusterNetwork is startNodes with a client for each of nets and the
// servers' heartbeat grace.
func startClusterNetwork(t testing.TB, grace time.Duration, nets []nodeNet) *clusterNodes {
	t.Helper()
	n := len(nets)
	hosts := newUnderlay(t, n)
	webapp := buildWebapp(t)
	ports := freePorts(t, 3)
	serverIP := underlayPrefix + "1"
	startAgentIn(t, "", "server", fmt.Sprintf(`bind_addr = %q
ports {
  http = %d
  rpc  = %d
  serf = %d
}
server {
  enabled           = true
  bootstrap_expect  = 1
  heartbeat_grace   = %q
  min_heartbeat_ttl = "1s"
}
`, serverIP, ports[0], ports[1], ports[2], grace.String()))
	cli, err := api.NewClient(&api.Config{Address: fmt.Sprintf("http://%s:%d", serverIP, ports[0])})
	mustNet(t, err)
	var clients []*nsAgent
	want := map[string]int{} // overlay → nodes
	for i, h := range hosts {
		fallback := ""
		if nets[i].fallback != "" {
			fallback = fmt.Sprintf("\n    fallback = %q", nets[i].fallback)
		}
		want[nets[i].overlay]++
		clients = append(clients, startAgentIn(t, h.nsPath, h.name, fmt.Sprintf(`bind_addr = %q
client {
  enabled           = true
  servers           = ["%s:%d"]
  network_interface = "eth0"
  cluster_network {
    cidr    = "10.42.0.0/16"
    overlay = %q%s
  }
}
plugin "raw_exec" {
  config { enabled = true }
}
`, h.ip, serverIP, ports[1], nets[i].overlay, fallback)))
	}
	waitUntil(t, 30*time.Second, fmt.Sprintf("%d ready nodes", n), func() bool {
		nodes, _, err := cli.Nodes().List(nil)
		ready := map[string]int{}
		for _, stub := range nodes {
			nd, _, err := cli.Nodes().Info(stub.ID, nil)
			if err == nil && nd.Status == "ready" {
				ready[nd.Attributes[structs.NodeAttrNetworkCluster]]++
			}
		}
		return err == nil && maps.Equal(ready, want)
	})

	var allocs []*api.Allocation
	job := api.NewSystemJob("pong", "pong", "global", 50)
	task := api.NewTask("web", "raw_exec").SetConfig("command", webapp).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	task.Env = map[string]string{"PORT": "8080"}
	group := api.NewTaskGroup("web", 1).AddTask(task)
	group.Networks = []*api.NetworkResource{{Mode: "bridge", DynamicPorts: []api.Port{{Label: "http", To: 8080}}}}
	group.Services = []*api.Service{{Name: "pong", PortLabel: "http", Provider: "nomad"}}
	job.AddTaskGroup(group)
	_, _, err = cli.Jobs().Register(job, nil)
	mustNet(t, err)
	// Before the agents stop (cleanups run last first): stop the job, so
	// that its tasks, namespaces and veth pairs go with it.
	t.Cleanup(func() {
		_, _, _ = cli.Jobs().Deregister("pong", true, nil)
		waitUntil(t, 20*time.Second, "the job's namespaces removed", func() bool {
			for _, al := range allocs {
				if _, err := os.Stat(network.NamespacePath(al.ID)); err == nil {
					return false
				}
			}
			return true
		})
	})

	waitUntil(t, 30*time.Second, "running allocations with cluster addresses", func() bool {
		stubs, _, err := cli.Jobs().Allocations("pong", false, nil)
		if err != nil || len(stubs) != n {
			return false
		}
		allocs = allocs[:0]
		for _, s := range stubs {
			a, _, err := cli.Allocations().Info(s.ID, nil)
			if err != nil || a.ClientStatus != "running" || a.NetworkStatus == nil || !strings.HasPrefix(a.NetworkStatus.Address, "10.42.") {
				return false
			}
			allocs = append(allocs, a)
		}
		return true
	})
	return &clusterNodes{hosts: hosts, clients: clients, cli: cli, allocs: allocs, webapp: webapp}
}

// TestClusterNetworkAcrossNodes runs one server and two clients, each
// client in a network namespace of its own (a machine of its own) on a
// shared underlay: a bridge-mode system job gets a cluster network address
// on each node, each allocation reaches the other's by that address over
// the VXLAN overlay, the service registrations carry the cluster
// addresses, and a node that goes down loses its route on the other.
func TestClusterNetworkAcrossNodes(t *testing.T) {
	requireNetns(t)
	requireVXLAN(t)
	c := startNodes(t, 2, "vxlan")
	hosts, clients, cli, allocs := c.hosts, c.clients, c.cli, c.allocs
	a, b := allocs[0], allocs[1]
	t.Logf("cluster addresses %s and %s", a.NetworkStatus.Address, b.NetworkStatus.Address)

	cases := []struct{ name, from, to string }{
		{"first allocation reaches the second", a.ID, b.NetworkStatus.Address},
		{"second allocation reaches the first", b.ID, a.NetworkStatus.Address},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var last string
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("last answer: %s", last)
				}
			})
			waitUntil(t, 15*time.Second, tc.name, func() bool {
				last = getFrom(network.NamespacePath(tc.from), net.JoinHostPort(tc.to, "8080"))
				return strings.Contains(last, "hello from webapp")
			})
		})
	}
	t.Run("services carry the cluster addresses", func(t *testing.T) {
		want := map[string]bool{a.NetworkStatus.Address + ":8080": true, b.NetworkStatus.Address + ":8080": true}
		waitUntil(t, 15*time.Second, "both registrations", func() bool {
			regs, _, err := cli.Services().Get("pong", nil)
			if err != nil || len(regs) != 2 {
				return false
			}
			for _, r := range regs {
				if !want[net.JoinHostPort(r.Address, fmt.Sprint(r.Port))] {
					return false
				}
			}
			return true
		})
	})
	t.Run("a network policy admits its service's allocations only", func(t *testing.T) {
		guarded := runSystemWebJob(t, c, "guarded", map[string]string{structs.IngressFromMeta: "service:pong"})
		intruders := runSystemWebJob(t, c, "intruder", nil)
		for _, g := range guarded {
			for _, src := range []struct {
				from  *api.Allocation
				admit bool
			}{{a, true}, {b, true}, {intruders[0], false}, {intruders[1], false}} {
				addr := net.JoinHostPort(g.NetworkStatus.Address, "8080")
				if src.admit {
					waitUntil(t, 15*time.Second, "pong reaching "+addr, func() bool {
						return strings.Contains(getFrom(network.NamespacePath(src.from.ID), addr), "hello from webapp")
					})
					continue
				}
				waitUntil(t, 15*time.Second, "the intruder dropped at "+addr, func() bool {
					// Dropped packets: the connect times out (no refusal).
					return !strings.Contains(getWithin(network.NamespacePath(src.from.ID), addr, 300*time.Millisecond), "hello from webapp")
				})
			}
		}
		// Without the policy, the intruder gets in: the drop was the policy's.
		if !strings.Contains(getFrom(network.NamespacePath(intruders[0].ID), net.JoinHostPort(b.NetworkStatus.Address, "8080")), "hello from webapp") {
			t.Error("the intruder cannot reach an unguarded allocation either")
		}
	})
	t.Run("a node that goes down loses its route, and regains it when back", func(t *testing.T) {
		gone := clients[1]
		gone.kill()
		var goneAlloc *api.Allocation
		for _, al := range allocs {
			if n, _, _ := cli.Nodes().Info(al.NodeID, nil); n != nil && n.Name == hosts[1].name {
				goneAlloc = al
			}
		}
		_, goneSubnet, _ := net.ParseCIDR(goneAlloc.NetworkStatus.Address + "/24")
		waitUntil(t, 20*time.Second, "the route to the gone node's subnet removed", func() bool {
			return !hasRouteIn(t, hosts[0].nsPath, goneSubnet)
		})
		gone.start(t)
		waitUntil(t, 20*time.Second, "the route back", func() bool {
			return hasRouteIn(t, hosts[0].nsPath, goneSubnet)
		})
	})
}

// runSystemWebJob runs the web server as a bridge-mode system job with the
// given group meta, and returns its running allocations, one a node; the
// job is purged when the test ends.
func runSystemWebJob(t *testing.T, c *clusterNodes, id string, meta map[string]string) []*api.Allocation {
	t.Helper()
	return runSystemWebJobIn(t, c, "default", id, meta)
}

// runSystemWebJobIn is runSystemWebJob in a namespace of the cluster's.
func runSystemWebJobIn(t *testing.T, c *clusterNodes, namespace, id string, meta map[string]string) []*api.Allocation {
	t.Helper()
	cli := c.cli
	q, w := &api.QueryOptions{Namespace: namespace}, &api.WriteOptions{Namespace: namespace}
	job := api.NewSystemJob(id, id, "global", 50)
	job.Namespace = &namespace
	task := api.NewTask("web", "raw_exec").SetConfig("command", c.webapp).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	task.Env = map[string]string{"PORT": "8080"}
	group := api.NewTaskGroup("web", 1).AddTask(task)
	group.Meta = meta
	group.Networks = []*api.NetworkResource{{Mode: "bridge"}}
	job.AddTaskGroup(group)
	_, _, err := cli.Jobs().Register(job, w)
	mustNet(t, err)
	var allocs []*api.Allocation
	t.Cleanup(func() {
		_, _, _ = cli.Jobs().Deregister(id, true, w)
		waitUntil(t, 20*time.Second, id+"'s namespaces removed", func() bool {
			for _, al := range allocs {
				if _, err := os.Stat(network.NamespacePath(al.ID)); err == nil {
					return false
				}
			}
			return true
		})
	})
	waitUntil(t, 30*time.Second, "running allocations of "+id, func() bool {
		stubs, _, err := cli.Jobs().Allocations(id, false, q)
		if err != nil || len(stubs) != len(c.hosts) {
			return false
		}
		allocs = allocs[:0]
		for _, s := range stubs {
			al, _, err := cli.Allocations().Info(s.ID, q)
			if err != nil || al.ClientStatus != "running" || al.NetworkStatus == nil {
				return false
			}
			allocs = append(allocs, al)
		}
		return true
	})
	return allocs
}

// getFrom sends an HTTP GET for / to addr from inside a network namespace
// (the dial must stay on the namespace's thread, so no http.Transport).
func getFrom(nsPath, addr string) string { return getWithin(nsPath, addr, 2*time.Second) }

// getWithin is getFrom with a connect timeout.
func getWithin(nsPath, addr string, timeout time.Duration) string {
	var body string
	err := network.InNamespace(nsPath, func() error {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
		b, err := io.ReadAll(c)
		body = string(b)
		return err
	})
	if err != nil {
		return err.Error()
	}
	return body
}

// hasRouteIn reports whether the namespace routes subnet over the overlay.
func hasRouteIn(t testing.TB, nsPath string, subnet *net.IPNet) bool {
	ns, err := netns.GetFromPath(nsPath)
	mustNet(t, err)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	mustNet(t, err)
	defer h.Close()
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	mustNet(t, err)
	for _, r := range routes {
		if r.Dst != nil && r.Dst.String() == subnet.String() {
			return true
		}
	}
	return false
}

// BenchmarkOverlayThroughput compares, for each overlay, TCP throughput
// to an allocation from its own node across the bridge ("bridge") with
// throughput from an allocation on the other node across the overlay
// ("overlay"), in 1 MiB writes, agents and all:
//
//	go test ./e2e -run XXX -bench OverlayThroughput -benchtime 500x
func BenchmarkOverlayThroughput(b *testing.B) {
	requireNetns(b)
	b.Run("wireguard", func(b *testing.B) { benchOverlay(b, "wireguard") })
	b.Run("vxlan", func(b *testing.B) {
		requireVXLAN(b)
		benchOverlay(b, "vxlan")
	})
}

func benchOverlay(b *testing.B, overlay string) {
	c := startNodes(b, 2, overlay)
	dst, src := c.allocs[0], c.allocs[1]
	var dstHost *testHost
	node, _, err := c.cli.Nodes().Info(dst.NodeID, nil)
	mustNet(b, err)
	for _, h := range c.hosts {
		if h.name == node.Name {
			dstHost = h
		}
	}
	var ln net.Listener
	mustNet(b, network.InNamespace(network.NamespacePath(dst.ID), func() error {
		var err error
		ln, err = net.Listen("tcp", ":9000")
		return err
	}))
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, conn); conn.Close() }()
		}
	}()
	target := net.JoinHostPort(dst.NetworkStatus.Address, "9000")
	chunk := make([]byte, 1<<20)
	for _, tc := range []struct{ name, from string }{
		{"bridge", dstHost.nsPath},
		{"overlay", network.NamespacePath(src.ID)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var conn net.Conn
			mustNet(b, network.InNamespace(tc.from, func() error {
				var err error
				conn, err = net.DialTimeout("tcp", target, 5*time.Second)
				return err
			}))
			defer conn.Close()
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			for range b.N {
				if _, err := conn.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
