package wireguard

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/roam-project/roam/internal/capture"
	"github.com/roam-project/roam/internal/reexec"
	"github.com/roam-project/roam/network"
)

// testNode is a simulated machine: a network namespace on the test's
// underlay bridge, with its WireGuard overlay.
type testNode struct {
	name, nsPath, ip, veth string
	subnet                 *net.IPNet
	dir                    string
	local                  network.Peer // what the node publishes
	proc                   *nodeProc
}

// nodeProc is the test binary re-run inside a node's namespace as that
// node's client would run: the whole process in the namespace, since
// wireguard-go opens sockets from whatever thread it runs on.
type nodeProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// Environment of the re-run test binary.
const (
	envNodeIP      = "ROAM_WG_TEST_IP"
	envNodeDir     = "ROAM_WG_TEST_DIR"
	envNodeSubnet  = "ROAM_WG_TEST_SUBNET"
	envNodeVerbose = "ROAM_WG_TEST_VERBOSE"
)

// TestMain runs a node's overlay when re-run by a test (see nodeProc),
// and the device process when the overlay starts one (see Role).
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	if os.Getenv(envNodeIP) != "" {
		if err := runNode(os.Stdin, os.Stdout); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runNode starts the overlay, prints its Local peer as JSON and then syncs
// to each JSON peer list read from in, answering "ok" or "error: ...".
func runNode(in io.Reader, out io.Writer) error {
	_, subnet, err := net.ParseCIDR(os.Getenv(envNodeSubnet))
	if err != nil {
		return err
	}
	// -v shows the device's own log (ROAM_WG_TEST_VERBOSE, set by start).
	level := slog.LevelInfo
	if os.Getenv(envNodeVerbose) != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("node", os.Getenv(envNodeIP))
	ov, err := Start(Config{Local: os.Getenv(envNodeIP), Dir: os.Getenv(envNodeDir), Logger: logger})
	if err != nil {
		return err
	}
	if err := ov.Ensure(subnet); err != nil {
		return err
	}
	b, _ := json.Marshal(ov.Local())
	fmt.Fprintf(out, "%s\n", b)
	for sc := bufio.NewScanner(in); sc.Scan(); {
		var peers []network.Peer
		err := json.Unmarshal(sc.Bytes(), &peers)
		if err == nil {
			err = ov.Sync(peers)
		}
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			continue
		}
		fmt.Fprintln(out, "ok")
	}
	return nil
}

const (
	testBridge = "roamwgbr0"
	testPrefix = "10.199.9."
)

// requireNetns skips unless the test can make namespaces and TUN devices.
func requireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and TUN devices")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun: userspace WireGuard cannot run here")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newNodes makes a bridge and n namespaces on it (10.199.7.2, .3, ...),
// each running an overlay with subnet 10.43.<i+1>.0/24; all is removed
// when the test ends.
func newNodes(t testing.TB, n int) []*testNode {
	t.Helper()
	if l, err := netlink.LinkByName(testBridge); err == nil {
		_ = netlink.LinkDel(l)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: testBridge}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Skipf("cannot create a bridge: %v", err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(br) })
	// With br_netfilter, bridged frames meet the host's FORWARD chain,
	// whose policy Docker sets to DROP: let the test's LAN through.
	ipt, err := iptables.New()
	must(t, err)
	lan := []string{"-i", testBridge, "-o", testBridge, "-j", "ACCEPT"}
	must(t, ipt.InsertUnique("filter", "FORWARD", 1, lan...))
	t.Cleanup(func() { _ = ipt.DeleteIfExists("filter", "FORWARD", lan...) })
	must(t, netlink.LinkSetUp(br))
	var nodes []*testNode
	for i := range n {
		nd := &testNode{name: fmt.Sprintf("roamwgt%d", i+1), ip: fmt.Sprintf("%s%d", testPrefix, i+2),
			veth: fmt.Sprintf("rwgt%d", i+1), dir: t.TempDir()}
		_, nd.subnet, _ = net.ParseCIDR(fmt.Sprintf("10.43.%d.0/24", i+1))
		nd.nsPath = filepath.Join("/var/run/netns", nd.name)
		_ = netns.DeleteNamed(nd.name)
		if l, err := netlink.LinkByName(nd.veth); err == nil {
			_ = netlink.LinkDel(l)
		}
		must(t, newNamed(nd.name))
		t.Cleanup(func() { _ = netns.DeleteNamed(nd.name) })
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MasterIndex = nd.veth, br.Attrs().Index
		must(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: nd.veth + "p"}))
		host, err := netlink.LinkByName(nd.veth)
		must(t, err)
		must(t, netlink.LinkSetUp(host))
		peer, err := netlink.LinkByName(nd.veth + "p")
		must(t, err)
		ns, err := netns.GetFromPath(nd.nsPath)
		must(t, err)
		must(t, netlink.LinkSetNsFd(peer, int(ns)))
		h, err := netlink.NewHandleAt(ns)
		must(t, err)
		inside, err := h.LinkByName(nd.veth + "p")
		must(t, err)
		must(t, h.LinkSetName(inside, "eth0"))
		addr, _ := netlink.ParseAddr(nd.ip + "/24")
		must(t, h.AddrAdd(inside, addr))
		must(t, h.LinkSetUp(inside))
		lo, _ := h.LinkByName("lo")
		must(t, h.LinkSetUp(lo))
		h.Close()
		ns.Close()
		// After the node's process (cleanups run last first): the device
		// process outlives it.
		t.Cleanup(func() {
			if _, err := StopDevice(nd.dir); err != nil {
				t.Error(err)
			}
		})
		nd.start(t)
		nodes = append(nodes, nd)
	}
	return nodes
}

// start starts the node's overlay in a process in its namespace; it
// stops when the test ends.
func (nd *testNode) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envNodeIP+"="+nd.ip, envNodeDir+"="+nd.dir, envNodeSubnet+"="+nd.subnet.String())
	if testing.Verbose() {
		cmd.Env = append(cmd.Env, envNodeVerbose+"=1")
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, network.InNamespace(nd.nsPath, cmd.Start))
	p := &nodeProc{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(p.stop)
	if !p.out.Scan() {
		t.Fatalf("%s: the overlay did not start", nd.name)
	}
	if err := json.Unmarshal(p.out.Bytes(), &nd.local); err != nil {
		t.Fatalf("%s: %s", nd.name, p.out.Text())
	}
	nd.proc = p
}

// stop closes the overlay and waits for its process.
func (p *nodeProc) stop() {
	if p.cmd.ProcessState == nil {
		p.stdin.Close()
		_ = p.cmd.Wait()
	}
}

// sync gives the node peers and waits for it to apply them.
func (nd *testNode) sync(t testing.TB, peers []network.Peer) {
	t.Helper()
	b, err := json.Marshal(peers)
	must(t, err)
	fmt.Fprintf(nd.proc.stdin, "%s\n", b)
	if !nd.proc.out.Scan() || nd.proc.out.Text() != "ok" {
		t.Fatalf("%s: sync: %s", nd.name, nd.proc.out.Text())
	}
}

// syncAtOnce gives each node its peers at the same moment, as nodes that
// see one lease change through the same blocking query do, and waits for
// them all to apply them.
func syncAtOnce(t testing.TB, nodes []*testNode, peers [][]network.Peer) {
	t.Helper()
	for i, nd := range nodes {
		b, err := json.Marshal(peers[i])
		must(t, err)
		fmt.Fprintf(nd.proc.stdin, "%s\n", b)
	}
	for _, nd := range nodes {
		if !nd.proc.out.Scan() || nd.proc.out.Text() != "ok" {
			t.Fatalf("%s: sync: %s", nd.name, nd.proc.out.Text())
		}
	}
}

// peersOf lists the nodes as peers.
func peersOf(nodes ...*testNode) []network.Peer {
	var peers []network.Peer
	for _, o := range nodes {
		p := o.local
		p.Subnet = o.subnet.String()
		peers = append(peers, p)
	}
	return peers
}

// syncPeers gives every node all the others as peers.
func syncPeers(t testing.TB, nodes []*testNode) {
	t.Helper()
	var peers []network.Peer
	for _, o := range nodes {
		p := o.local
		p.Subnet = o.subnet.String()
		peers = append(peers, p) // each node itself included: Sync leaves it out
	}
	for _, nd := range nodes {
		nd.sync(t, peers)
	}
}

func newNamed(name string) error {
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

// echoIn serves an echo on addr inside the namespace.
func echoIn(t testing.TB, nsPath, addr string) {
	t.Helper()
	var ln net.Listener
	must(t, network.InNamespace(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	}))
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
}

// exchange sends msg to addr from inside the namespace and returns the
// answer.
func exchange(nsPath, addr, msg string, timeout time.Duration) (string, error) {
	var out string
	err := network.InNamespace(nsPath, func() error {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		if _, err := io.WriteString(c, msg); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		_, err = io.ReadFull(c, buf)
		out = string(buf)
		return err
	})
	return out, err
}

// uapiPeers lists the public keys (base64) the device at the node's UAPI
// socket peers with, as `wg show roam-wg peers`.
func uapiPeers(t testing.TB, nd *testNode) []string {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(nd.dir, SocketFile))
	must(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.WriteString(c, "get=1\n\n")
	must(t, err)
	var keys []string
	for sc := bufio.NewScanner(c); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "errno=") {
			break // the end of the answer
		}
		if k, ok := strings.CutPrefix(line, "public_key="); ok {
			raw, err := hex.DecodeString(k)
			must(t, err)
			keys = append(keys, base64.StdEncoding.EncodeToString(raw))
		}
	}
	return keys
}

// uapiState is the node's device state as UAPI reports it, less its key.
func uapiState(t testing.TB, nd *testNode) string {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(nd.dir, SocketFile))
	must(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.WriteString(c, "get=1\n\n")
	must(t, err)
	var lines []string
	for sc := bufio.NewScanner(c); sc.Scan() && !strings.HasPrefix(sc.Text(), "errno="); {
		if !strings.HasPrefix(sc.Text(), "private_key=") {
			lines = append(lines, sc.Text())
		}
	}
	return strings.Join(lines, "\n")
}

// routesVia lists the destinations the namespace routes through the device.
func routesVia(t testing.TB, nd *testNode) []string {
	t.Helper()
	var out []string
	must(t, network.InNamespace(nd.nsPath, func() error {
		link, err := netlink.LinkByName(Device)
		if err != nil {
			return err
		}
		routes, err := netlink.RouteList(link, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Dst != nil {
				out = append(out, r.Dst.String())
			}
		}
		return err
	}))
	return out
}

// TestOverlay runs three nodes, each a network namespace on one bridge with
// its own WireGuard device: every node reaches the others' subnets through
// it, only encrypted UDP crosses the underlay, a node removed from the
// peers loses its peer entry and route, and a restarted node keeps its key.
func TestOverlay(t *testing.T) {
	requireNetns(t)
	nodes := newNodes(t, 3)
	syncPeers(t, nodes)
	for _, nd := range nodes {
		echoIn(t, nd.nsPath, net.JoinHostPort(nd.subnet.IP.String(), "7000"))
	}
	const marker = "roam-plaintext-marker-0123456789"
	// A node's first handshake can reach a peer that does not list it
	// yet: it retries within a second (see watchHandshakes).
	const handshakeWait = 3 * time.Second
	_, overlayNet, _ := net.ParseCIDR("10.43.0.0/16")

	cases := []struct {
		name     string
		from, to int
	}{
		{"first reaches second", 0, 1},
		{"second reaches third", 1, 2},
		{"third reaches first", 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from, to := nodes[tc.from], nodes[tc.to]
			capt, err := capture.Start("", to.veth)
			must(t, err)
			addr := net.JoinHostPort(to.subnet.IP.String(), "7000")
			got, err := exchange(from.nsPath, addr, marker, handshakeWait)
			pkts := capt.Stop()
			if err != nil || got != marker {
				t.Fatalf("exchange with %s: %q, %v", addr, got, err)
			}
			var wg int
			for _, p := range pkts {
				switch {
				case bytes.Contains(p.Data, []byte(marker)):
					t.Errorf("the payload crossed the underlay in the clear: %s → %s proto %d", p.Src, p.Dst, p.Proto)
				case p.Proto == unix.IPPROTO_UDP && p.DstPort == DefaultPort:
					wg++
				case overlayNet.Contains(p.Src) || overlayNet.Contains(p.Dst):
					t.Errorf("an overlay packet crossed the underlay in the clear: %s → %s proto %d", p.Src, p.Dst, p.Proto)
				}
			}
			if wg == 0 {
				t.Errorf("no WireGuard packets (UDP %d) on %s among %d captured", DefaultPort, to.veth, len(pkts))
			}
		})
	}

	t.Run("a removed node loses its peer and route", func(t *testing.T) {
		gone := nodes[2]
		rest := nodes[:2]
		syncPeers(t, rest)
		for _, nd := range rest {
			if keys := uapiPeers(t, nd); len(keys) != 1 || keys[0] == gone.local.PublicKey {
				t.Errorf("%s peers %v, want only the other remaining node", nd.name, keys)
			}
			for _, r := range routesVia(t, nd) {
				if r == gone.subnet.String() {
					t.Errorf("%s still routes %s", nd.name, r)
				}
			}
		}
		addr := net.JoinHostPort(gone.subnet.IP.String(), "7000")
		if _, err := exchange(rest[0].nsPath, addr, marker, 500*time.Millisecond); err == nil {
			t.Errorf("%s still reaches the removed node at %s", rest[0].name, addr)
		}
		syncPeers(t, nodes)
		if got, err := exchange(rest[0].nsPath, addr, marker, handshakeWait); err != nil || got != marker {
			t.Errorf("after re-adding, %s: %q, %v", addr, got, err)
		}
	})

	t.Run("a restarted node keeps its key and is reached again", func(t *testing.T) {
		nd := nodes[1]
		before := nd.local.PublicKey
		nd.proc.stop()
		nd.start(t)
		if after := nd.local.PublicKey; after != before {
			t.Errorf("public key %s after restart, want %s", after, before)
		}
		info, err := os.Stat(filepath.Join(nd.dir, KeyFile))
		must(t, err)
		if info.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
		}
		syncPeers(t, nodes)
		addr := net.JoinHostPort(nd.subnet.IP.String(), "7000")
		if got, err := exchange(nodes[0].nsPath, addr, marker, handshakeWait); err != nil || got != marker {
			t.Errorf("after restart, %s: %q, %v", addr, got, err)
		}
	})
}

// TestJoinLatency has a node join (every node adding the others at the
// same moment) and leave, ten times over, and checks that the first
// exchange each way after a join succeeds within joinWait; it logs the
// times and the machine's load.
func TestJoinLatency(t *testing.T) {
	requireNetns(t)
	nodes := newNodes(t, 3)
	for _, nd := range nodes {
		echoIn(t, nd.nsPath, net.JoinHostPort(nd.subnet.IP.String(), "7000"))
	}
	const joinWait = 3 * time.Second
	const trials = 10
	joiner, rest := nodes[2], nodes[:2]
	var times []time.Duration
	for i := range trials {
		// The joiner leaves: the others drop it, it drops them.
		syncAtOnce(t, nodes, [][]network.Peer{peersOf(rest...), peersOf(rest...), nil})
		if i%2 == 1 { // every other time it comes back as a new process
			joiner.proc.stop()
			joiner.start(t)
		}
		all := peersOf(nodes...)
		start := time.Now()
		syncAtOnce(t, nodes, [][]network.Peer{all, all, all})
		for _, pair := range [][2]*testNode{{rest[0], joiner}, {joiner, rest[1]}} {
			from, to := pair[0], pair[1]
			addr := net.JoinHostPort(to.subnet.IP.String(), "7000")
			if got, err := exchange(from.nsPath, addr, "hello", joinWait); err != nil || got != "hello" {
				t.Fatalf("trial %d: %s to %s after the join: %q, %v\n%s:\n%s\n%s:\n%s", i, from.name, addr, got, err,
					from.name, uapiState(t, from), to.name, uapiState(t, to))
			}
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("join to first exchange both ways, %d trials: min %s, median %s, max %s; load %s",
		trials, times[0].Round(time.Millisecond), times[trials/2].Round(time.Millisecond),
		times[trials-1].Round(time.Millisecond), strings.TrimSpace(string(load)))
}

// BenchmarkThroughput compares TCP throughput between two namespaces on
// one bridge: directly ("bridge"), through kernel VXLAN ("vxlan") and
// through this package's userspace WireGuard ("wireguard"), in 1 MiB
// writes; the machine's load average is logged with the results:
//
//	go test ./network/wireguard -run XXX -bench Throughput -benchtime 2000x
func BenchmarkThroughput(b *testing.B) {
	requireNetns(b)
	nodes := newNodes(b, 2)
	syncPeers(b, nodes)
	vxlanErr := setupVXLAN(nodes)
	var ln net.Listener
	must(b, network.InNamespace(nodes[1].nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", ":9000")
		return err
	}))
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("load average at start: %s(%d CPUs)", load, runtime.NumCPU())
	chunk := make([]byte, 1<<20)
	for _, tc := range []struct {
		name, addr string
		skip       error
	}{
		{"bridge", nodes[1].ip, nil},
		{"vxlan", "10.44.2.0", vxlanErr},
		{"wireguard", nodes[1].subnet.IP.String(), nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.skip != nil {
				b.Skipf("no VXLAN: %v", tc.skip)
			}
			var conn net.Conn
			must(b, network.InNamespace(nodes[0].nsPath, func() error {
				var err error
				conn, err = net.DialTimeout("tcp", net.JoinHostPort(tc.addr, "9000"), 10*time.Second)
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
	load, _ = os.ReadFile("/proc/loadavg")
	b.Logf("load average at end: %s", load)
}

// setupVXLAN gives the nodes a VXLAN overlay too, on 10.44.<i+1>.0/24.
func setupVXLAN(nodes []*testNode) error {
	var peers []network.Peer
	overlays := make([]*network.VXLAN, len(nodes))
	for i, nd := range nodes {
		_, subnet, _ := net.ParseCIDR(fmt.Sprintf("10.44.%d.0/24", i+1))
		err := network.InNamespace(nd.nsPath, func() error {
			v, err := network.NewVXLAN(nd.ip)
			if err != nil {
				return err
			}
			overlays[i] = v
			return v.Ensure(subnet)
		})
		if err != nil {
			return err
		}
		p := overlays[i].Local()
		p.Subnet = subnet.String()
		peers = append(peers, p)
	}
	for i, nd := range nodes {
		if err := network.InNamespace(nd.nsPath, func() error { return overlays[i].Sync(peers) }); err != nil {
			return err
		}
	}
	return nil
}

// TestDeviceOutlivesClient has the node's process (its client) go away and
// come back while another node exchanges with it every 50 ms: the device
// process keeps carrying the exchanges meanwhile (no gap of a second), and
// the node's next process adopts the same device process.
func TestDeviceOutlivesClient(t *testing.T) {
	requireNetns(t)
	nodes := newNodes(t, 2)
	syncPeers(t, nodes)
	from, nd := nodes[0], nodes[1]
	addr := net.JoinHostPort(nd.subnet.IP.String(), "7000")
	echoIn(t, nd.nsPath, addr)
	if got, err := exchange(from.nsPath, addr, "hello", 3*time.Second); err != nil || got != "hello" {
		t.Fatalf("exchange with %s before: %q, %v", addr, got, err)
	}
	const maxGap = time.Second
	top := t // the nodes' processes last as long as the test, not a subtest
	cases := []struct {
		name string
		end  func(p *nodeProc)
	}{
		{"the client stops", (*nodeProc).stop},
		{"the client is killed", func(p *nodeProc) { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pid, err := readPID(nd.dir)
			must(t, err)
			stop := make(chan struct{})
			gap := make(chan time.Duration)
			go func() {
				last, worst := time.Now(), time.Duration(0)
				for {
					select {
					case <-stop:
						gap <- max(worst, time.Since(last))
						return
					case <-time.After(50 * time.Millisecond):
					}
					if got, err := exchange(from.nsPath, addr, "ping", 300*time.Millisecond); err == nil && got == "ping" {
						worst, last = max(worst, time.Since(last)), time.Now()
					}
				}
			}()
			tc.end(nd.proc)
			time.Sleep(time.Second) // no client
			if keys := uapiPeers(t, nd); len(keys) != 1 || keys[0] != from.local.PublicKey {
				t.Errorf("while no client runs, the device peers with %v, want %s", keys, from.local.PublicKey)
			}
			nd.start(top)
			syncPeers(t, nodes)
			time.Sleep(500 * time.Millisecond)
			close(stop)
			if worst := <-gap; worst > maxGap {
				t.Errorf("the exchanges stopped for %s, want at most %s", worst.Round(time.Millisecond), maxGap)
			} else {
				t.Logf("longest gap between exchanges: %s", worst.Round(time.Millisecond))
			}
			if after, err := readPID(nd.dir); err != nil || after != pid {
				t.Errorf("device process %d, %v after the restart; want the same one, %d", after, err, pid)
			}
		})
	}

	// A node its peer dropped while it was away (it was marked down) still
	// holds the session the peer forgot. With the lower key, it initiates
	// afresh at once (its peer would only initiate after responderWait);
	// with the higher key, its peer initiates as soon as it lists it again,
	// but what the node sent with the old session before that is lost (a
	// SYN is resent a second later): it cannot tell whether its peer kept
	// the session, and a fresh initiation of its own could cross its
	// peer's.
	returns := []struct {
		name   string
		lower  bool // the returning node has the lower key
		within time.Duration
	}{
		{"a node its peer dropped meanwhile initiates at once", true, time.Second},
		{"a node its peer dropped meanwhile is prompted by it", false, 3 * time.Second},
	}
	for _, tc := range returns {
		t.Run(tc.name, func(t *testing.T) {
			back, peer := nodes[0], nodes[1]
			if (hexKey(t, back) < hexKey(t, peer)) != tc.lower {
				back, peer = peer, back
			}
			peerAddr := net.JoinHostPort(peer.subnet.IP.String(), "7001")
			echoIn(t, peer.nsPath, peerAddr)
			back.proc.stop()
			peer.sync(t, peersOf(peer)) // the node is marked down: its peer drops it
			back.start(top)
			start := time.Now()
			syncAtOnce(t, nodes, [][]network.Peer{peersOf(nodes...), peersOf(nodes...)})
			within := tc.within
			if got, err := exchange(back.nsPath, peerAddr, "hello", within); err != nil || got != "hello" {
				for _, n := range nodes {
					log, _ := os.ReadFile(filepath.Join(n.dir, LogFile))
					lines := strings.Split(string(log), "\n")
					t.Logf("%s's device:\n%s\nits log's end:\n%s", n.name, uapiState(t, n),
						strings.Join(lines[max(0, len(lines)-40):], "\n"))
				}
				t.Fatalf("%s to %s within %s of its return: %q, %v", back.name, peerAddr, within, got, err)
			}
			t.Logf("%s reached %s %s after they listed each other again", back.name, peerAddr, time.Since(start).Round(time.Millisecond))
		})
	}
}

// hexKey is the node's public key, hex, as the devices compare them.
func hexKey(t testing.TB, nd *testNode) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(nd.local.PublicKey)
	must(t, err)
	return hex.EncodeToString(raw)
}
