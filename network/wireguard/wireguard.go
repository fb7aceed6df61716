// Package wireguard is the encrypted overlay of the cluster network: a
// userspace WireGuard device (wireguard-go on a TUN device, so no kernel
// module is needed) that peers with every other node, each peer's allowed
// IPs being its subnet, with a route to each peer's subnet through it.
//
// The device runs in a process of its own (device.go), which the client
// starts and configures through the device's UAPI socket, and which
// outlives the client: while a client restarts, its node's allocations
// keep reaching the other nodes' (and they its), and the restarted client
// adopts the running device.
package wireguard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/sys/unix"

	"github.com/roam-project/roam/internal/reexec"
	"github.com/roam-project/roam/network"
)

// Device settings.
const (
	// Device is the TUN device's name.
	Device = "roam-wg" // listed in network.OverlayDevices
	// DefaultPort is the UDP port the device listens on (WireGuard's).
	DefaultPort = 51820
	// KeyFile is the private key's file in the key directory (0600).
	KeyFile = "wireguard.key"
	// SocketFile is the device's UAPI socket in the key directory
	// (`wg show` reads /var/run/wireguard/roam-wg.sock: link it there).
	SocketFile = "wireguard.sock"
	// overhead is WireGuard's encapsulation over IPv6, the larger one.
	overhead = 80
	// keepalive is each peer's persistent keepalive, in seconds.
	keepalive = 25
)

// Handshake prompting: see the device process's watchHandshakes.
const (
	// handshakeTick is how often the pending handshakes are checked.
	handshakeTick = 50 * time.Millisecond
	// initiatorRetry is how often the node with the lower public key of
	// a pair sends a fresh initiation until a handshake completes.
	initiatorRetry = 500 * time.Millisecond
	// responderWait is how long the node with the higher key waits for
	// the other's initiation before it sends its own (the other may not
	// list it: it did not change, or it is slow), and then how often; it
	// falls between the other's retries, so that the two do not cross.
	responderWait = 1250 * time.Millisecond
	// kickFor is how long a peer is prompted before it is left to
	// wireguard-go's own retries (every 5 s).
	kickFor = 30 * time.Second
)

// Config configures the overlay.
type Config struct {
	// Local is the node's underlay address, the endpoint peers send to.
	Local string
	// Port is the UDP listen port; 0 is DefaultPort.
	Port int
	// Dir holds the private key, the device process's UAPI socket, PID
	// file and log (the client's state directory).
	Dir    string
	Logger *slog.Logger
}

// Overlay is the client's side of this node's WireGuard device (run by
// the device process) and its routes.
type Overlay struct {
	local   net.IP
	port    int
	mtu     int
	public  string // base64, as published
	hexKey  string // the node's public key, hex
	dir     string
	socket  string
	logger  *slog.Logger
	mu      sync.Mutex
	subnet  *net.IPNet
	applied map[string]string // peer public key (hex) → its UAPI section
}

// Start loads (or makes) the node's key pair and adopts the device
// process an earlier client left running, or starts one; it fails when the
// node cannot run userspace WireGuard (no /dev/net/tun, not root, the port
// taken).
func Start(cfg Config) (*Overlay, error) {
	ip := net.ParseIP(cfg.Local).To4()
	if ip == nil {
		return nil, fmt.Errorf("wireguard: underlay address %q is not IPv4", cfg.Local)
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	private, err := loadKey(filepath.Join(cfg.Dir, KeyFile))
	if err != nil {
		return nil, err
	}
	public, err := curve25519.X25519(private, curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("wireguard: public key: %w", err)
	}
	under, err := network.UnderlayLink(ip)
	if err != nil {
		return nil, err
	}
	o := &Overlay{local: ip, port: cfg.Port, mtu: under.Attrs().MTU - overhead,
		public: base64.StdEncoding.EncodeToString(public), hexKey: hex.EncodeToString(public),
		dir: cfg.Dir, socket: filepath.Join(cfg.Dir, SocketFile), logger: cfg.Logger.With("device", Device),
		applied: map[string]string{}}
	st, adopted, err := o.device(cfg.Logger.Enabled(context.Background(), slog.LevelDebug))
	if err != nil {
		return nil, err
	}
	if err := o.configure(st, hex.EncodeToString(private)); err != nil {
		if !adopted {
			_, _ = StopDevice(cfg.Dir)
		}
		return nil, err
	}
	if adopted {
		// Peers that dropped the node while no client ran (it was marked
		// down) forgot the sessions it still sends with: see rehandshake.
		if _, err := uapiRequest(o.socket, rehandshakeOp+"\n"); err != nil {
			o.logger.Warn("wireguard: ask the adopted device for fresh handshakes", "error", err)
		}
	}
	return o, nil
}

// device adopts the running device process, if its socket answers, or
// starts one; it returns the device's configuration and whether it was
// adopted.
func (o *Overlay) device(verbose bool) (*deviceState, bool, error) {
	if st, err := uapiGet(o.socket); err == nil {
		pid, _ := readPID(o.dir)
		o.logger.Info("wireguard: adopted the running device, which kept carrying traffic while no client ran",
			"pid", pid, "peers", len(st.peers))
		return st, true, nil
	}
	// A device process that does not answer is of no use: it goes, and
	// its device with it.
	if _, err := StopDevice(o.dir); err != nil {
		return nil, false, err
	}
	if err := startDevice(o.dir, o.mtu, verbose); err != nil {
		return nil, false, err
	}
	st, err := uapiGet(o.socket)
	if err != nil {
		_, _ = StopDevice(o.dir)
		return nil, false, err
	}
	pid, _ := readPID(o.dir)
	o.logger.Info("wireguard: started the device process", "pid", pid, "log", filepath.Join(o.dir, LogFile))
	return st, false, nil
}

// startDevice starts the device process for dir in a session of its own,
// logging to LogFile, and waits until its device is up.
func startDevice(dir string, mtu int, verbose bool) error {
	args := []string{"-dir", dir, "-mtu", fmt.Sprint(mtu)}
	if verbose {
		args = append(args, "-verbose")
	}
	cmd, err := reexec.Command(Role, args...)
	if err != nil {
		return fmt.Errorf("wireguard: %w", err)
	}
	logOut, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("wireguard: open the device log: %w", err)
	}
	defer logOut.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("wireguard: report pipe: %w", err)
	}
	defer reportR.Close()
	cmd.Stdout, cmd.Stderr = logOut, logOut
	cmd.ExtraFiles = []*os.File{reportW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	reportW.Close()
	if err != nil {
		return fmt.Errorf("wireguard: start the device process: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reaped while this client runs
	report, err := io.ReadAll(reportR)
	line := strings.TrimSpace(string(report))
	switch {
	case err != nil:
		return fmt.Errorf("wireguard: read the device process's report: %w", err)
	case line == "ok":
		return nil
	case strings.HasPrefix(line, "error "):
		return errors.New(strings.TrimPrefix(line, "error "))
	}
	return fmt.Errorf("wireguard: the device process exited before its device was up (see %s)", filepath.Join(dir, LogFile))
}

// configure gives the device the node's private key and listen port,
// unless it has them, and takes its peers as applied, so that Sync leaves
// alone the sessions of an adopted device's peers that did not change.
func (o *Overlay) configure(st *deviceState, private string) error {
	var conf strings.Builder
	if st.privateKey != private {
		fmt.Fprintf(&conf, "private_key=%s\n", private)
	}
	if st.listenPort != o.port {
		fmt.Fprintf(&conf, "listen_port=%d\n", o.port)
	}
	if conf.Len() > 0 {
		if err := uapiSet(o.socket, conf.String()); err != nil {
			return fmt.Errorf("wireguard: configure %s (UDP port %d): %w", Device, o.port, err)
		}
	}
	if link, err := netlink.LinkByName(Device); err == nil && link.Attrs().MTU != o.mtu {
		if err := netlink.LinkSetMTU(link, o.mtu); err != nil {
			return fmt.Errorf("wireguard: MTU %d on %s: %w", o.mtu, Device, err)
		}
	}
	for k, p := range st.peers {
		o.applied[k] = p.section(k)
	}
	return nil
}

// loadKey reads the private key at path, making one (0600) if there is none.
func loadKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("wireguard: %s does not hold a base64 private key", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("wireguard: read private key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("wireguard: generate private key: %w", err)
	}
	key[0] &= 248 // clamped, as `wg genkey`
	key[31] = key[31]&127 | 64
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("wireguard: write private key: %w", err)
	}
	return key, nil
}

// Kind is network.OverlayWireGuard.
func (o *Overlay) Kind() string { return network.OverlayWireGuard }

// MTU is the underlay's less WireGuard's encapsulation.
func (o *Overlay) MTU() int { return o.mtu }

// Local is the node's endpoint and public key.
func (o *Overlay) Local() network.Peer {
	return network.Peer{Kind: network.OverlayWireGuard, VTEP: o.local.String(), PublicKey: o.public, Port: o.port}
}

// Ensure addresses the device with the network address of the node's
// subnet and makes sure it is up.
func (o *Overlay) Ensure(subnet *net.IPNet) error {
	o.mu.Lock()
	o.subnet = subnet
	o.mu.Unlock()
	link, err := netlink.LinkByName(Device)
	if err != nil {
		return fmt.Errorf("find %s: %w", Device, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: subnet.IP.To4(), Mask: net.CIDRMask(32, 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, Device, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up %s: %w", Device, err)
	}
	return os.WriteFile("/proc/sys/net/ipv4/conf/"+Device+"/rp_filter", []byte("0"), 0o644)
}

// Sync makes the device's peers those of peers exactly (each allowed its
// subnet, at its underlay address) and routes each peer's subnet through
// the device; peers and routes no longer listed are removed. Peers of
// another overlay kind are left out: they cannot be reached.
func (o *Overlay) Sync(peers []network.Peer) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.subnet == nil {
		return errors.New("wireguard: Sync before Ensure")
	}
	want := map[string]string{}
	routes := map[string]*net.IPNet{}
	for _, p := range peers {
		key, err := base64.StdEncoding.DecodeString(p.PublicKey)
		_, subnet, cidrErr := net.ParseCIDR(p.Subnet)
		vtep := net.ParseIP(p.VTEP).To4()
		if p.Kind != network.OverlayWireGuard || err != nil || len(key) != 32 || cidrErr != nil || vtep == nil ||
			p.Port <= 0 || p.PublicKey == o.public || subnet.String() == o.subnet.String() {
			continue
		}
		k := hex.EncodeToString(key)
		want[k] = peerSection(k, net.JoinHostPort(vtep.String(), fmt.Sprint(p.Port)), subnet.String())
		routes[subnet.String()] = subnet
	}
	var conf strings.Builder
	for k := range o.applied {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&conf, "public_key=%s\nremove=true\n", k)
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if o.applied[k] == want[k] {
			continue
		}
		conf.WriteString(want[k])
		if o.initiates(k) {
			// Turning the keepalive on sends the first initiation; the
			// device process prompts the rest (see its watchHandshakes).
			fmt.Fprintf(&conf, "persistent_keepalive_interval=%d\n", keepalive)
		}
	}
	if conf.Len() > 0 {
		if err := uapiSet(o.socket, conf.String()); err != nil {
			return fmt.Errorf("wireguard: set peers: %w", err)
		}
	}
	o.applied = want
	return o.syncRoutes(routes)
}

// initiates reports whether this node starts the handshakes with the peer
// of hex key k: the node of the pair with the lower key does.
func (o *Overlay) initiates(k string) bool { return o.hexKey < k }

// syncRoutes routes exactly the subnets of want through the device.
func (o *Overlay) syncRoutes(want map[string]*net.IPNet) error {
	link, err := netlink.LinkByName(Device)
	if err != nil {
		return fmt.Errorf("find %s: %w", Device, err)
	}
	var errs []error
	for _, subnet := range want {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: subnet, Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Errorf("route %s via %s: %w", subnet, Device, err))
		}
	}
	have, err := netlink.RouteList(link, netlink.FAMILY_V4)
	if err != nil {
		errs = append(errs, fmt.Errorf("list routes of %s: %w", Device, err))
	}
	for _, r := range have {
		if r.Dst != nil && want[r.Dst.String()] == nil && r.Protocol != unix.RTPROT_KERNEL {
			if err := netlink.RouteDel(&r); err != nil {
				errs = append(errs, fmt.Errorf("delete route %s: %w", r.Dst, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Stop stops the device process, which removes the device and its routes:
// for a node that leaves the cluster network for good (a -dev agent's).
// Without it the device outlives the client, for the next one to adopt.
func (o *Overlay) Stop() error {
	_, err := StopDevice(o.dir)
	return err
}
