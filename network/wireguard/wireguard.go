// Package wireguard is the encrypted overlay of the cluster network: a
// userspace WireGuard device (wireguard-go on a TUN device, so no kernel
// module is needed) that peers with every other node, each peer's allowed
// IPs being its subnet, with a route to each peer's subnet through it.
//
// The device lives as long as the client process: while a client is down,
// its node's allocations cannot reach the other nodes' (nor they its).
package wireguard

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"

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

// Handshake prompting: see watchHandshakes.
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
	// Dir holds the private key and the UAPI socket (the client's state
	// directory).
	Dir    string
	Logger *slog.Logger
}

// Overlay is this node's WireGuard device and its routes.
type Overlay struct {
	local   net.IP
	port    int
	mtu     int
	public  string // base64, as published
	dev     *device.Device
	uapi    net.Listener
	logger  *slog.Logger
	mu      sync.Mutex
	subnet  *net.IPNet
	applied map[string]string // peer public key (hex) → its UAPI section
	pending map[string]*handshakeWait
	hexKey  string // the node's public key, hex
	done    chan struct{}
}

// handshakeWait is a peer added or changed at since that has not
// completed a handshake since; next is when to send it a fresh initiation,
// every every; keepalive is whether its persistent keepalive is on.
type handshakeWait struct {
	since, next time.Time
	every       time.Duration
	keepalive   bool
}

// Start loads (or makes) the node's key pair and starts the device; it
// fails when the node cannot run userspace WireGuard (no /dev/net/tun, not
// root, the port taken).
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
	mtu := under.Attrs().MTU - overhead
	t, err := createTUN(mtu)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger.With("device", Device)
	dev := device.NewDevice(t, conn.NewDefaultBind(), &device.Logger{
		Verbosef: func(f string, args ...any) { logger.Debug("wireguard: " + fmt.Sprintf(f, args...)) },
		Errorf:   func(f string, args ...any) { logger.Warn("wireguard: " + fmt.Sprintf(f, args...)) },
	})
	o := &Overlay{local: ip, port: cfg.Port, mtu: mtu, public: base64.StdEncoding.EncodeToString(public), dev: dev,
		logger: logger, applied: map[string]string{}, pending: map[string]*handshakeWait{},
		hexKey: hex.EncodeToString(public), done: make(chan struct{})}
	setup := fmt.Sprintf("private_key=%s\nlisten_port=%d\n", hex.EncodeToString(private), cfg.Port)
	if err := dev.IpcSet(setup); err != nil {
		dev.Close()
		return nil, fmt.Errorf("wireguard: configure %s (UDP port %d): %w", Device, cfg.Port, err)
	}
	// wireguard-go follows the link's state (it closes its UDP socket while
	// the link is down): the link goes up now, so that the node answers
	// handshakes as soon as its peers list it.
	link, err := netlink.LinkByName(Device)
	if err == nil {
		err = netlink.LinkSetUp(link)
	}
	if err == nil {
		err = dev.Up()
	}
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("wireguard: bring up %s: %w", Device, err)
	}
	// The socket is for inspection only: the overlay runs without it.
	if o.uapi, err = serveUAPI(dev, filepath.Join(cfg.Dir, SocketFile)); err != nil {
		logger.Warn("wireguard: no UAPI socket (wg show will not see the device)", "error", err)
	}
	go o.watchHandshakes()
	return o, nil
}

// staleWait is how long Start waits for the device of a client that just
// exited to go: the kernel removes a TUN device after its last user.
const staleWait = 3 * time.Second

// createTUN makes the TUN device, waiting a little for one left by a
// client that just exited (it is busy until the kernel has removed it).
func createTUN(mtu int) (tun.Device, error) {
	deadline := time.Now().Add(staleWait)
	for {
		if _, err := netlink.LinkByName(Device); err != nil { // none: make it
			t, err := tun.CreateTUN(Device, mtu)
			if err == nil {
				return t, nil
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				return nil, fmt.Errorf("wireguard: create TUN device %s (/dev/net/tun): %w", Device, err)
			}
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("wireguard: a device %s exists already (another client on this host?)", Device)
		}
		time.Sleep(50 * time.Millisecond)
	}
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

// serveUAPI answers the WireGuard UAPI (what `wg` speaks) on a Unix socket.
func serveUAPI(dev *device.Device, path string) (net.Listener, error) {
	_ = os.Remove(path) // left by an earlier client
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("wireguard: UAPI socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("wireguard: UAPI socket: %w", err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go dev.IpcHandle(c)
		}
	}()
	return ln, nil
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
		want[k] = fmt.Sprintf("public_key=%s\nendpoint=%s\nreplace_allowed_ips=true\nallowed_ip=%s\n",
			k, net.JoinHostPort(vtep.String(), fmt.Sprint(p.Port)), subnet)
		routes[subnet.String()] = subnet
	}
	var conf strings.Builder
	for k := range o.applied {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&conf, "public_key=%s\nremove=true\n", k)
			delete(o.pending, k)
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	now := time.Now()
	for _, k := range keys {
		if o.applied[k] == want[k] {
			continue
		}
		conf.WriteString(want[k])
		w := &handshakeWait{since: now, every: responderWait, next: now.Add(responderWait)}
		if o.initiates(k) {
			// Turning the keepalive on sends the first initiation.
			fmt.Fprintf(&conf, "persistent_keepalive_interval=%d\n", keepalive)
			w.every, w.next, w.keepalive = initiatorRetry, now.Add(initiatorRetry), true
		}
		if _, ok := o.applied[k]; ok {
			// An existing peer keeps its keepalive, so the initiator
			// initiates at the next check.
			w.keepalive = true
			if o.initiates(k) {
				w.next = now
			}
		}
		o.pending[k] = w
	}
	if conf.Len() > 0 {
		if err := o.dev.IpcSet(conf.String()); err != nil {
			return fmt.Errorf("wireguard: set peers: %w", err)
		}
	}
	o.applied = want
	return o.syncRoutes(routes)
}

// initiates reports whether this node starts the handshakes with the peer
// of hex key k: the node of the pair with the lower key does.
func (o *Overlay) initiates(k string) bool { return o.hexKey < k }

// watchHandshakes prompts each peer added or changed (a new key or
// endpoint) until it completes a handshake. When both nodes of a pair
// initiate at once, as nodes that see a lease through the same blocking
// query do, their initiations cross: each answers the other's, which voids
// its own, so that neither session completes (and wireguard-go retries
// only after 5 s, REKEY_TIMEOUT), or each ends up sending with a key the
// other dropped, until a handshake 15 s later. So only the node of the
// pair with the lower key initiates at once, and again every
// initiatorRetry until a handshake completes (its first initiation is lost
// when the other does not list it yet); the other waits responderWait for
// it before it initiates itself (the other may not list it, or may have
// kept a session it has no keys for since it restarted).
func (o *Overlay) watchHandshakes() {
	tick := time.NewTicker(handshakeTick)
	defer tick.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-tick.C:
		}
		o.mu.Lock()
		if len(o.pending) > 0 {
			o.kickPending(time.Now())
		}
		o.mu.Unlock()
	}
}

// kickPending drops the pending peers that completed a handshake and sends
// a fresh initiation to those due one; o.mu is held.
func (o *Overlay) kickPending(now time.Time) {
	last, err := o.lastHandshakes()
	if err != nil {
		o.logger.Warn("wireguard: read handshake times", "error", err)
		return
	}
	for k, w := range o.pending {
		switch {
		case last[k].After(w.since):
			if !w.keepalive {
				o.setKeepalive(k)
			}
			delete(o.pending, k)
		case now.Sub(w.since) > kickFor:
			o.logger.Warn("wireguard: no handshake with a peer yet; leaving it to WireGuard's retries",
				"peer", k, "waited", kickFor)
			delete(o.pending, k)
		case !now.Before(w.next):
			var pk device.NoisePublicKey
			if err := pk.FromHex(k); err != nil {
				delete(o.pending, k)
				continue
			}
			if peer := o.dev.LookupPeer(pk); peer != nil {
				// Expiring the keypairs lifts wireguard-go's one
				// initiation per REKEY_TIMEOUT; there is no session
				// since the change, so none is lost.
				peer.ExpireCurrentKeypairs()
				_ = peer.SendHandshakeInitiation(false) // a failed send is logged by wireguard-go
			}
			if !w.keepalive {
				o.setKeepalive(k)
				w.keepalive = true
			}
			w.next = now.Add(w.every)
		}
	}
}

// setKeepalive turns the persistent keepalive of the peer of hex key k on.
func (o *Overlay) setKeepalive(k string) {
	conf := fmt.Sprintf("public_key=%s\nupdate_only=true\npersistent_keepalive_interval=%d\n", k, keepalive)
	if err := o.dev.IpcSet(conf); err != nil {
		o.logger.Warn("wireguard: turn a peer's keepalive on", "peer", k, "error", err)
	}
}

// lastHandshakes is each peer's (hex key) last completed handshake.
func (o *Overlay) lastHandshakes() (map[string]time.Time, error) {
	get, err := o.dev.IpcGet()
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	var key string
	var sec, nsec int64
	for _, line := range strings.Split(get, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "public_key":
			key, sec, nsec = v, 0, 0
		case "last_handshake_time_sec":
			sec, _ = strconv.ParseInt(v, 10, 64)
		case "last_handshake_time_nsec":
			nsec, _ = strconv.ParseInt(v, 10, 64)
		}
		if key != "" && sec != 0 {
			out[key] = time.Unix(sec, nsec)
		}
	}
	return out, nil
}

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

// Close stops the device, which removes it and its routes.
func (o *Overlay) Close() error {
	if o.uapi != nil {
		o.uapi.Close()
	}
	close(o.done)
	o.dev.Close()
	return nil
}
