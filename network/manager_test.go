package network

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/vishvananda/netlink"
)

// mapStore keeps statuses in memory; the client's bbolt store is tested in
// client/state.
type mapStore struct {
	mu sync.Mutex
	m  map[string]*Status
}

func (s *mapStore) PutNetwork(st *Status) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *st
	s.m[st.AllocID] = &cp
	return nil
}

func (s *mapStore) DeleteNetwork(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *mapStore) Networks() ([]*Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Status
	for _, st := range s.m {
		cp := *st
		out = append(out, &cp)
	}
	return out, nil
}

// RequireRoot skips t unless the test can create network namespaces.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces, bridges and iptables rules")
	}
	if _, err := os.Stat("/proc/sys/net/ipv4/ip_forward"); err != nil {
		t.Skip("kernel without IPv4 forwarding")
	}
}

func newTestManager(t *testing.T, store *mapStore, bridge, subnet string) *Manager {
	t.Helper()
	m, err := New(Config{Bridge: bridge, Subnet: subnet, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serveIn starts a TCP echo-the-name server inside a namespace.
func serveIn(t *testing.T, nsPath, addr, name string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := InNamespace(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, name)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dialFrom connects from a namespace ("" is the host's) and reads a line.
func dialFrom(nsPath, addr string) (string, error) {
	var line string
	err := InNamespace(nsPath, func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return line, err
}

func TestBridgeSetupTeardown(t *testing.T) {
	requireRoot(t)
	store := &mapStore{m: map[string]*Status{}}
	m := newTestManager(t, store, "roamtest0", "10.199.7.0/24")
	t.Cleanup(func() {
		_, _ = m.Reconcile(func(string) bool { return false })
		if l, err := netlink.LinkByName("roamtest0"); err == nil {
			netlink.LinkDel(l)
		}
	})

	a, err := m.Setup(Request{AllocID: "aaaaaaaa-1111", Mode: ModeBridge,
		Ports: []Port{{Label: "http", HostIP: "127.0.0.1", HostPort: 29871, To: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Setup(Request{AllocID: "bbbbbbbb-2222", Mode: ModeBridge})
	if err != nil {
		t.Fatal(err)
	}
	none, err := m.Setup(Request{AllocID: "cccccccc-3333", Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != "10.199.7.2" || b.Address != "10.199.7.3" {
		t.Fatalf("addresses %s, %s; want 10.199.7.2, 10.199.7.3", a.Address, b.Address)
	}
	serveIn(t, a.Namespace, ":8080", "alloc-a")

	cases := []struct {
		name, from, addr string
		reach            bool
	}{
		{"alloc to alloc on the bridge", b.Namespace, net.JoinHostPort(a.Address, "8080"), true},
		{"host to alloc address", "", net.JoinHostPort(a.Address, "8080"), true},
		{"host through the mapped port", "", "127.0.0.1:29871", true},
		{"none mode reaches nothing", none.Namespace, net.JoinHostPort(a.Address, "8080"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line, err := dialFrom(tc.from, tc.addr)
			if tc.reach && (err != nil || line != "alloc-a\n") {
				t.Fatalf("dial %s: %q, %v; want alloc-a", tc.addr, line, err)
			}
			if !tc.reach && err == nil {
				t.Fatalf("dial %s succeeded; want no route", tc.addr)
			}
		})
	}

	// A restarted client keeps the addresses.
	m2 := newTestManager(t, store, "roamtest0", "10.199.7.0/24")
	again, err := m2.Setup(Request{AllocID: "aaaaaaaa-1111", Mode: ModeBridge})
	if err != nil || again.Address != a.Address {
		t.Fatalf("after restart: %+v, %v; want address %s", again, err, a.Address)
	}
	gone, err := m2.Reconcile(func(id string) bool { return id == "bbbbbbbb-2222" })
	if err != nil || len(gone) != 2 {
		t.Fatalf("reconcile removed %v, %v; want the two dead allocations", gone, err)
	}
	for _, gone := range []string{a.Namespace, none.Namespace} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("namespace %s still exists after reconcile", gone)
		}
	}
	if _, err := dialFrom("", "127.0.0.1:29871"); err == nil {
		t.Error("mapped port still answers after teardown")
	}
	if _, err := os.Stat(b.Namespace); err != nil {
		t.Errorf("live alloc's namespace removed: %v", err)
	}
	if len(store.m) != 1 {
		t.Errorf("store holds %d networks after reconcile; want 1", len(store.m))
	}
}

func TestResolvConf(t *testing.T) {
	cases := []struct {
		name string
		dns  *api.DNSConfig
		want string
	}{
		{"none", nil, ""},
		{"empty", &api.DNSConfig{}, ""},
		{"full", &api.DNSConfig{Servers: []string{"1.1.1.1", "8.8.8.8"}, Searches: []string{"svc", "local"}, Options: []string{"ndots:2"}},
			"# Written by Roam from the group's network { dns {} } block.\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch svc local\noptions ndots:2\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ResolvConf(tc.dns); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAddressReuse gives a torn-down allocation's address to a new one at
// once: the node reaches the new one straight away, not after its
// neighbour entry for the old one's interface expired.
func TestAddressReuse(t *testing.T) {
	requireRoot(t)
	store := &mapStore{m: map[string]*Status{}}
	m := newTestManager(t, store, "roamtest2", "10.199.6.0/24")
	t.Cleanup(func() {
		_, _ = m.Reconcile(func(string) bool { return false })
		if l, err := netlink.LinkByName("roamtest2"); err == nil {
			netlink.LinkDel(l)
		}
	})
	// Another allocation keeps the bridge up: without a port it would lose
	// its carrier, which flushes its neighbour entries.
	if _, err := m.Setup(Request{AllocID: "reuse000-keeper", Mode: ModeBridge}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"reuse001-first", "reuse002-second"} {
		s, err := m.Setup(Request{AllocID: id, Mode: ModeBridge})
		if err != nil {
			t.Fatal(err)
		}
		if s.Address != "10.199.6.3" {
			t.Fatalf("allocation %d got %s; want 10.199.6.3", i, s.Address)
		}
		ln := serveIn(t, s.Namespace, ":8080", id)
		if line, err := dialFrom("", net.JoinHostPort(s.Address, "8080")); err != nil || line != id+"\n" {
			t.Errorf("allocation %d: dial from the node: %q, %v; want %s", i, line, err, id)
		}
		ln.Close()
		if err := m.Teardown(id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBridgeKeepsItsAddress changes the bridge's ports as allocations come
// and go, which would change the hardware address of a bridge that takes
// its lowest port's: the bridge keeps the one it had, and an allocation
// that resolved its gateway before still reaches the node through it at
// once (not after its neighbour entry expired, up to ~30 s later).
func TestBridgeKeepsItsAddress(t *testing.T) {
	requireRoot(t)
	store := &mapStore{m: map[string]*Status{}}
	m := newTestManager(t, store, "roamtest3", "10.199.5.0/24")
	t.Cleanup(func() {
		_, _ = m.Reconcile(func(string) bool { return false })
		if l, err := netlink.LinkByName("roamtest3"); err == nil {
			netlink.LinkDel(l)
		}
	})
	a, err := m.Setup(Request{AllocID: "keepmac0-watcher", Mode: ModeBridge})
	if err != nil {
		t.Fatal(err)
	}
	ln := serveIn(t, "", a.Gateway+":0", "node")
	gwAddr := ln.Addr().String()
	if line, err := dialFrom(a.Namespace, gwAddr); err != nil || line != "node\n" {
		t.Fatalf("dial the node at %s: %q, %v", gwAddr, line, err)
	}
	bridgeAddr := func() string {
		l, err := netlink.LinkByName("roamtest3")
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().HardwareAddr.String()
	}
	want := bridgeAddr()
	cases := []struct {
		name   string
		change func() error
	}{
		{"a port with a lower address joins", func() error {
			if _, err := m.Setup(Request{AllocID: "keepmac1-lowest", Mode: ModeBridge}); err != nil {
				return err
			}
			host, _ := vethNames("keepmac1-lowest")
			l, err := netlink.LinkByName(host)
			if err != nil {
				return err
			}
			return netlink.LinkSetHardwareAddr(l, net.HardwareAddr{0, 0, 0, 0, 0, 1})
		}},
		{"the port with the lowest address leaves", func() error { return m.Teardown("keepmac1-lowest") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.change(); err != nil {
				t.Fatal(err)
			}
			if got := bridgeAddr(); got != want {
				t.Errorf("bridge address %s, want %s as before", got, want)
			}
			if line, err := dialFrom(a.Namespace, gwAddr); err != nil || line != "node\n" {
				t.Errorf("dial the node at %s: %q, %v", gwAddr, line, err)
			}
		})
	}
}
