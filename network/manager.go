// Package network gives allocations their network on a client node: in
// bridge mode a network namespace of their own, joined by a veth pair to the
// node's bridge (roam0), an address from the node's subnet, host ports mapped
// in with iptables rules this package owns and removes; in "none" mode a
// namespace with loopback only. What it set up is kept in the client's state,
// so a restarted client keeps every allocation's address and cleans up what
// a crash left behind.
package network

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	"github.com/vishvananda/netlink"
)

// Network modes, as jobs spell them in `network { mode = ... }`.
const (
	ModeHost   = "host"
	ModeBridge = "bridge"
	ModeNone   = "none"
)

// Defaults for the node's bridge, as Nomad's bridge_network_subnet.
const (
	DefaultBridge = "roam0"
	DefaultSubnet = "172.26.64.0/20"
)

// Port is one host port mapped into an allocation's namespace.
type Port struct {
	Label    string
	HostIP   string
	HostPort int
	// To is the port inside the namespace; 0 means HostPort.
	To int
}

// Status is what was set up for one allocation; it is persisted.
type Status struct {
	AllocID string
	Mode    string
	// Namespace is the namespace's path; OwnsNamespace says that this
	// package created it (rather than, say, a docker pause container).
	Namespace     string
	OwnsNamespace bool
	Interface     string
	Address       string
	PrefixLen     int
	Gateway       string
	Ports         []Port
	// Cluster says that Address is on the cluster network, reachable from
	// every node's allocations.
	Cluster bool
}

// Store persists allocations' network statuses (the client's state file).
type Store interface {
	PutNetwork(s *Status) error
	DeleteNetwork(allocID string) error
	Networks() ([]*Status, error)
}

// Request asks for an allocation's network.
type Request struct {
	AllocID string
	// Mode is ModeHost (or ""), ModeBridge or ModeNone.
	Mode string
	// Namespace is an existing namespace to configure (a docker pause
	// container's); "" has one created.
	Namespace string
	Ports     []Port
}

// Config configures a Manager.
type Config struct {
	// Bridge is the bridge's name; "" is DefaultBridge.
	Bridge string
	// Subnet is the node's allocation subnet (CIDR); "" is DefaultSubnet,
	// or, with ClusterCIDR, the subnet UseSubnet sets once it is leased.
	Subnet string
	// ClusterCIDR is the cluster network; traffic within it is routed
	// between nodes, not masqueraded.
	ClusterCIDR string
	Store       Store
	Logger      *slog.Logger
}

// Manager sets up and tears down allocations' networks on one node.
type Manager struct {
	bridge  string
	cluster *net.IPNet
	store   Store
	logger  *slog.Logger

	mu       sync.Mutex
	mtu      int        // of new allocations' interfaces; 0 is the bridge's
	subnet   *net.IPNet // nil until a cluster subnet is leased
	statuses map[string]*Status
	link     netlink.Link // the bridge, once set up
	fw       *firewall
}

// New returns a manager holding the statuses the store kept.
func New(cfg Config) (*Manager, error) {
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if cfg.Subnet == "" && cfg.ClusterCIDR == "" {
		cfg.Subnet = DefaultSubnet
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{bridge: cfg.Bridge, store: cfg.Store, logger: cfg.Logger, statuses: map[string]*Status{}}
	var err error
	if cfg.ClusterCIDR != "" {
		if m.cluster, err = parseSubnet("cluster network", cfg.ClusterCIDR); err != nil {
			return nil, err
		}
	}
	if cfg.Subnet != "" {
		if m.subnet, err = parseSubnet("bridge subnet", cfg.Subnet); err != nil {
			return nil, err
		}
	}
	kept, err := cfg.Store.Networks()
	if err != nil {
		return nil, fmt.Errorf("read allocation networks: %w", err)
	}
	for _, s := range kept {
		m.statuses[s.AllocID] = s
		if m.subnet == nil && s.Cluster && s.Address != "" {
			// The lease a restarted client held, until it is confirmed.
			_, m.subnet, _ = net.ParseCIDR(fmt.Sprintf("%s/%d", s.Address, s.PrefixLen))
		}
	}
	return m, nil
}

func parseSubnet(what, cidr string) (*net.IPNet, error) {
	_, subnet, err := net.ParseCIDR(cidr)
	if err != nil || subnet.IP.To4() == nil {
		return nil, fmt.Errorf("%s %q: want an IPv4 CIDR such as %s", what, cidr, DefaultSubnet)
	}
	return subnet, nil
}

// UseSubnet sets the node's allocation subnet, once leased from the
// cluster network. It cannot change once allocations use the bridge.
func (m *Manager) UseSubnet(cidr string) error {
	subnet, err := parseSubnet("leased subnet", cidr)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != nil && m.subnet.String() != subnet.String() {
		return fmt.Errorf("leased subnet %s differs from %s, which the bridge already uses", subnet, m.subnet)
	}
	m.subnet = subnet
	return nil
}

// EnsureBase sets up the bridge and Roam's iptables chains now rather than
// with the first bridge-mode allocation: a node on the cluster network
// guards its own services from the overlay from the start.
func (m *Manager) EnsureBase() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ensureBaseLocked()
}

// SetMTU sets the MTU of the interfaces of allocations set up from now on
// (the cluster network's overlay's); 0 is the bridge's.
func (m *Manager) SetMTU(mtu int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mtu = mtu
}

// Subnet is the node's allocation subnet; nil while a cluster lease is
// awaited.
func (m *Manager) Subnet() *net.IPNet {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subnet
}

// Status returns the allocation's network, or nil.
func (m *Manager) Status(allocID string) *Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statuses[allocID]
}

// Setup gives an allocation its network. Asked again for an allocation
// already set up (a restarted client), it returns what exists.
func (m *Manager) Setup(req Request) (*Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if req.Mode == "" || req.Mode == ModeHost {
		return &Status{AllocID: req.AllocID, Mode: ModeHost}, nil
	}
	if s := m.statuses[req.AllocID]; s != nil {
		if _, err := os.Stat(s.Namespace); err == nil {
			return s, m.restore(s)
		}
		m.teardownLocked(s)
	}
	s, err := m.setupLocked(req)
	if err != nil {
		if s != nil {
			m.teardownLocked(s)
		}
		return nil, fmt.Errorf("set up %s network of alloc %s: %w", req.Mode, req.AllocID, err)
	}
	m.logger.Info("allocation network set up", "alloc_id", req.AllocID, "mode", s.Mode, "address", s.Address, "namespace", s.Namespace)
	return s, nil
}

// setupLocked does the set-up; a non-nil Status with an error holds what
// must be torn down.
func (m *Manager) setupLocked(req Request) (*Status, error) {
	s := &Status{AllocID: req.AllocID, Mode: req.Mode, Namespace: req.Namespace, OwnsNamespace: req.Namespace == ""}
	if s.OwnsNamespace {
		s.Namespace = NamespacePath(req.AllocID)
	}
	switch req.Mode {
	case ModeNone:
	case ModeBridge:
		if err := m.ensureBaseLocked(); err != nil {
			return nil, err
		}
		ip, err := pickAddress(m.subnet, m.usedLocked())
		if err != nil {
			return nil, err
		}
		ones, _ := m.subnet.Mask.Size()
		s.Address, s.PrefixLen, s.Gateway, s.Interface = ip.String(), ones, gateway(m.subnet).String(), "eth0"
		s.Ports, s.Cluster = req.Ports, m.cluster != nil
	default:
		return nil, fmt.Errorf("unknown network mode %q (want host, bridge or none)", req.Mode)
	}
	// Recorded first, so that a crash part-way leaves something to clean.
	if err := m.persistLocked(s); err != nil {
		return nil, err
	}
	if s.OwnsNamespace {
		if _, err := createNamespace(req.AllocID); err != nil {
			return s, err
		}
	}
	if req.Mode != ModeBridge {
		return s, nil
	}
	ip, gw := net.ParseIP(s.Address).To4(), net.ParseIP(s.Gateway).To4()
	if _, err := attach(m.link, s.AllocID, s.Namespace, ip, gw, m.subnet, m.mtu); err != nil {
		return s, err
	}
	return s, m.fw.mapPorts(s)
}

// restore re-applies what a kept status needs after a client restart: the
// bridge and the port mappings (both idempotent).
func (m *Manager) restore(s *Status) error {
	if s.Mode != ModeBridge {
		return nil
	}
	if err := m.ensureBaseLocked(); err != nil {
		return err
	}
	return m.fw.mapPorts(s)
}

func (m *Manager) ensureBaseLocked() error {
	if m.link != nil {
		return nil
	}
	if m.subnet == nil {
		return errors.New("the node has no subnet of the cluster network yet")
	}
	link, err := ensureBridge(m.bridge, gateway(m.subnet), m.subnet)
	if err != nil {
		return err
	}
	fw, err := newFirewall(m.bridge, m.subnet, m.cluster)
	if err != nil {
		return err
	}
	if err := fw.ensureBase(); err != nil {
		return err
	}
	m.link, m.fw = link, fw
	return nil
}

func (m *Manager) usedLocked() map[string]bool {
	used := map[string]bool{}
	for _, s := range m.statuses {
		if s.Address != "" {
			used[s.Address] = true
		}
	}
	return used
}

func (m *Manager) persistLocked(s *Status) error {
	if err := m.store.PutNetwork(s); err != nil {
		return fmt.Errorf("persist network of alloc %s: %w", s.AllocID, err)
	}
	m.statuses[s.AllocID] = s
	return nil
}

// ApplyPolicy restricts who may connect to a bridge-mode allocation:
// allowed lists the source addresses let in (replies and the node itself
// always are); nil removes the restriction. Unknown or non-bridge
// allocations are no-ops.
func (m *Manager) ApplyPolicy(allocID string, allowed []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.statuses[allocID]
	if s == nil || s.Mode != ModeBridge {
		return nil
	}
	if allowed == nil {
		return removePolicy(s)
	}
	return applyPolicy(s, allowed)
}

// Teardown removes an allocation's network: port mappings, veth pair,
// namespace (if this package created it) and address. Unknown allocations
// are no-ops.
func (m *Manager) Teardown(allocID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.statuses[allocID]
	if s == nil {
		return nil
	}
	return m.teardownLocked(s)
}

func (m *Manager) teardownLocked(s *Status) error {
	var errs []error
	if s.Mode == ModeBridge {
		if err := m.ensureBaseLocked(); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, m.fw.unmapPorts(s)) // the policy goes with the namespace
		}
	}
	if err := detach(s.AllocID); err != nil {
		errs = append(errs, err)
	}
	if s.OwnsNamespace {
		if err := deleteNamespace(s.AllocID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tear down network of alloc %s: %w", s.AllocID, err)
	}
	if err := m.store.DeleteNetwork(s.AllocID); err != nil {
		return fmt.Errorf("forget network of alloc %s: %w", s.AllocID, err)
	}
	delete(m.statuses, s.AllocID)
	m.logger.Info("allocation network torn down", "alloc_id", s.AllocID, "address", s.Address)
	return nil
}

// Reconcile tears down the networks of allocations that live says are gone
// and returns their IDs, so that what else holds their namespaces (pause
// containers) can go too. Every namespace and veth pair of this package's is
// recorded before it is made, so a client that crashed part-way leaves
// nothing unrecorded.
func (m *Manager) Reconcile(live func(allocID string) bool) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []string
	var errs []error
	for id, s := range m.statuses {
		if live(id) {
			continue
		}
		gone = append(gone, id)
		if err := m.teardownLocked(s); err != nil {
			errs = append(errs, err)
		}
	}
	return gone, errors.Join(errs...)
}
