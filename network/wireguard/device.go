package wireguard

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/roam-project/roam/internal/reexec"
)

// The device process: the client starts the device in a process of its
// own (this binary in the Role role, in a session of its own), which
// outlives the client, so that the node's allocations stay reachable while
// their client restarts. The client configures it through its UAPI socket
// and a restarted client adopts it.
const (
	// Role is the device process's reexec role (its argv[0]).
	Role = "roam-wireguard"
	// PIDFile, in the state directory, holds the device process's PID.
	PIDFile = "wireguard.pid"
	// LogFile, in the state directory, is the device process's log.
	LogFile = "wireguard.log"
	// reportFD is the descriptor on which the device process tells the
	// client that started it whether the device is up: "ok\n" or
	// "error <message>\n".
	reportFD = 3
	// pidCheck is how often the device process checks that its PID file
	// still names it: it stops once its state directory is gone.
	pidCheck = time.Second
)

func init() { reexec.Register(Role, func() { os.Exit(runDevice(os.Args[1:])) }) }

// runDevice is the device process's body: args are -dir, -mtu and
// -verbose; it serves the device until SIGTERM or SIGINT.
func runDevice(args []string) int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	report := os.NewFile(reportFD, "report")
	fs := flag.NewFlagSet(Role, flag.ContinueOnError)
	dir := fs.String("dir", "", "the client's state directory")
	mtu := fs.Int("mtu", 0, "the device's MTU")
	verbose := fs.Bool("verbose", false, "log the device's verbose messages")
	if err := fs.Parse(args); err != nil || *dir == "" || *mtu <= 0 {
		fmt.Fprintf(report, "error usage: %s -dir STATE_DIR -mtu MTU [-verbose] (got %q)\n", Role, args)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("device", Device)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	d, err := serveDevice(*dir, *mtu, logger)
	if err != nil {
		fmt.Fprintf(report, "error %v\n", err)
		return 1
	}
	fmt.Fprintln(report, "ok")
	report.Close()
	logger.Info("wireguard: device up", "pid", os.Getpid(), "mtu", *mtu, "socket", d.socket)
	tick := time.NewTicker(pidCheck)
	defer tick.Stop()
	for {
		select {
		case sig := <-stop:
			logger.Info("wireguard: stopping the device", "signal", sig.String())
			d.close()
			return 0
		case <-tick.C:
			if pid, err := readPID(*dir); err != nil || pid != os.Getpid() {
				logger.Warn("wireguard: stopping the device: its PID file is gone or names another process",
					"pid_file", filepath.Join(*dir, PIDFile))
				d.close()
				return 0
			}
		}
	}
}

// deviceProc is the device process's device, UAPI socket and handshake
// prompting.
type deviceProc struct {
	dir, socket string
	dev         *device.Device
	uapi        net.Listener
	logger      *slog.Logger
	mu          sync.Mutex // serialises sets and the handshake checks
	pending     map[string]*handshakeWait
	done        chan struct{}
	closeOnce   sync.Once
}

// serveDevice makes the TUN device, starts wireguard-go on it, serves its
// UAPI socket and writes the PID file.
func serveDevice(dir string, mtu int, logger *slog.Logger) (*deviceProc, error) {
	if pid, ok := runningDevice(dir); ok {
		return nil, fmt.Errorf("wireguard: a device process (pid %d) runs already for %s", pid, dir)
	}
	t, err := createTUN(mtu)
	if err != nil {
		return nil, err
	}
	dev := device.NewDevice(t, conn.NewDefaultBind(), &device.Logger{
		Verbosef: func(f string, args ...any) { logger.Debug("wireguard: " + fmt.Sprintf(f, args...)) },
		Errorf:   func(f string, args ...any) { logger.Warn("wireguard: " + fmt.Sprintf(f, args...)) },
	})
	d := &deviceProc{dir: dir, socket: filepath.Join(dir, SocketFile), dev: dev, logger: logger,
		pending: map[string]*handshakeWait{}, done: make(chan struct{})}
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
	_ = os.Remove(d.socket) // left by a device process that was killed
	if d.uapi, err = net.Listen("unix", d.socket); err == nil {
		err = os.Chmod(d.socket, 0o600)
	}
	if err == nil {
		err = writePID(dir, os.Getpid())
	}
	if err != nil {
		if d.uapi != nil {
			d.uapi.Close()
		}
		dev.Close()
		return nil, fmt.Errorf("wireguard: UAPI socket %s: %w", d.socket, err)
	}
	go d.serveUAPI()
	go d.watchHandshakes()
	return d, nil
}

// close stops the device (which removes it and its routes), its socket and
// its PID file.
func (d *deviceProc) close() {
	d.closeOnce.Do(func() {
		close(d.done)
		d.uapi.Close()
		_ = os.Remove(d.socket)
		d.dev.Close()
		if pid, err := readPID(d.dir); err == nil && pid == os.Getpid() {
			_ = os.Remove(filepath.Join(d.dir, PIDFile))
		}
	})
}

// serveUAPI answers the WireGuard UAPI (what `wg` and the client speak).
func (d *deviceProc) serveUAPI() {
	for {
		c, err := d.uapi.Accept()
		if err != nil {
			return
		}
		go d.handle(c)
	}
}

// handle answers the requests of one UAPI connection, as wireguard-go's
// IpcHandle does, but sets go through set so that the peers they add or
// change are prompted to handshake.
func (d *deviceProc) handle(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		op, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch op {
		case "get=1\n":
			if b, err := r.ReadByte(); err != nil || b != '\n' {
				return
			}
			var get string
			if get, err = d.dev.IpcGet(); err == nil {
				_, _ = io.WriteString(w, get)
			}
		case "set=1\n":
			var conf strings.Builder
			for {
				line, rerr := r.ReadString('\n')
				if rerr != nil {
					return
				}
				if line == "\n" {
					break
				}
				conf.WriteString(line)
			}
			err = d.set(conf.String())
		case rehandshakeOp:
			if b, err := r.ReadByte(); err != nil || b != '\n' {
				return
			}
			err = d.rehandshake()
		default:
			d.logger.Warn("wireguard: unknown UAPI operation", "op", strings.TrimSpace(op))
			return
		}
		fmt.Fprintf(w, "errno=%d\n\n", errnoOf(err))
		if err != nil {
			d.logger.Warn("wireguard: UAPI "+strings.TrimSpace(op), "error", err)
		}
		if w.Flush() != nil {
			return
		}
	}
}

// rehandshakeOp is Roam's one operation beyond the UAPI's get and set,
// sent by a client that adopted the device: a fresh handshake with every
// peer this node initiates with.
const rehandshakeOp = "rehandshake=1\n"

// rehandshake prompts a fresh handshake with every peer of a higher key
// (this node initiates with those), as for a peer that changed: the
// client that adopted the device cannot tell which peers dropped this node
// meanwhile (it was marked down), forgetting the session it still sends
// with; those would only initiate after responderWait. A peer with a lower
// key that dropped the node initiates itself, at once, when it lists it
// again. A peer that kept the session answers at once; this node's packets
// to it wait (staged) for that answer, and until a peer that dropped it
// lists it again (the retries, every initiatorRetry, reach it then).
func (d *deviceProc) rehandshake() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, err := d.state()
	if err != nil {
		return err
	}
	own, now := st.publicKey(), time.Now()
	for k, p := range st.peers {
		if own < k {
			d.pending[k] = &handshakeWait{since: now, every: initiatorRetry, next: now, keepalive: p.keepalive}
		}
	}
	// At once, before the adopting client goes on: a packet sent with the
	// old session meanwhile would be lost if the peer dropped it, and a
	// lost SYN is resent only a second later.
	d.kickPending(now)
	return nil
}

// errnoOf is the UAPI errno of err (0 for nil).
func errnoOf(err error) int64 {
	if err == nil {
		return 0
	}
	var ipcErr *device.IPCError
	if errors.As(err, &ipcErr) {
		return ipcErr.ErrorCode()
	}
	return -int64(unix.EIO)
}

// set applies conf and starts prompting the peers it added or changed (a
// new endpoint or subnet) until they complete a handshake (see
// watchHandshakes); it compares the device's peers before and after, so a
// restarted client that sets what is there already disturbs no session.
func (d *deviceProc) set(conf string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	before, err := d.state()
	if err != nil {
		return err
	}
	if err := d.dev.IpcSet(conf); err != nil {
		return err
	}
	after, err := d.state()
	if err != nil {
		return err
	}
	own, now := after.publicKey(), time.Now()
	for k := range d.pending {
		if after.peers[k] == nil {
			delete(d.pending, k)
		}
	}
	for k, p := range after.peers {
		old := before.peers[k]
		if old != nil && old.endpoint == p.endpoint && strings.Join(old.allowed, ",") == strings.Join(p.allowed, ",") {
			continue
		}
		w := &handshakeWait{since: now, every: responderWait, next: now.Add(responderWait), keepalive: p.keepalive}
		if own < k { // this node initiates
			w.every, w.next = initiatorRetry, now.Add(initiatorRetry)
			if old != nil && old.keepalive {
				// The keepalive was on already, so turning it on sent no
				// initiation: the first goes at the next check.
				w.next = now
			}
		}
		d.pending[k] = w
	}
	return nil
}

// state is the device's configuration.
func (d *deviceProc) state() (*deviceState, error) {
	get, err := d.dev.IpcGet()
	if err != nil {
		return nil, err
	}
	return parseGet(get), nil
}

// handshakeWait is a peer added or changed at since that has not
// completed a handshake since; next is when to send it a fresh initiation,
// every every; keepalive is whether its persistent keepalive is on.
type handshakeWait struct {
	since, next time.Time
	every       time.Duration
	keepalive   bool
}

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
func (d *deviceProc) watchHandshakes() {
	tick := time.NewTicker(handshakeTick)
	defer tick.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-tick.C:
		}
		d.mu.Lock()
		if len(d.pending) > 0 {
			d.kickPending(time.Now())
		}
		d.mu.Unlock()
	}
}

// kickPending drops the pending peers that completed a handshake and sends
// a fresh initiation to those due one; d.mu is held.
func (d *deviceProc) kickPending(now time.Time) {
	st, err := d.state()
	if err != nil {
		d.logger.Warn("wireguard: read handshake times", "error", err)
		return
	}
	for k, w := range d.pending {
		p := st.peers[k]
		switch {
		case p == nil:
			delete(d.pending, k)
		case p.handshake.After(w.since):
			if !w.keepalive {
				d.setKeepalive(k)
			}
			delete(d.pending, k)
		case now.Sub(w.since) > kickFor:
			d.logger.Warn("wireguard: no handshake with a peer yet; leaving it to WireGuard's retries",
				"peer", k, "waited", kickFor)
			delete(d.pending, k)
		case !now.Before(w.next):
			var pk device.NoisePublicKey
			if err := pk.FromHex(k); err != nil {
				delete(d.pending, k)
				continue
			}
			if peer := d.dev.LookupPeer(pk); peer != nil {
				// Expiring the keypairs lifts wireguard-go's one
				// initiation per REKEY_TIMEOUT; there is no session
				// since the change, so none is lost.
				peer.ExpireCurrentKeypairs()
				_ = peer.SendHandshakeInitiation(false) // a failed send is logged by wireguard-go
			}
			if !w.keepalive {
				d.setKeepalive(k)
				w.keepalive = true
			}
			w.next = now.Add(w.every)
		}
	}
}

// setKeepalive turns the persistent keepalive of the peer of hex key k on.
func (d *deviceProc) setKeepalive(k string) {
	conf := fmt.Sprintf("public_key=%s\nupdate_only=true\npersistent_keepalive_interval=%d\n", k, keepalive)
	if err := d.dev.IpcSet(conf); err != nil {
		d.logger.Warn("wireguard: turn a peer's keepalive on", "peer", k, "error", err)
	}
}

// staleWait is how long a new device waits for one that just stopped to
// go: the kernel removes a TUN device after its last user.
const staleWait = 3 * time.Second

// createTUN makes the TUN device, waiting a little for one left by a
// device process that just exited (it is busy until the kernel has
// removed it).
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

// writePID writes the PID file atomically.
func writePID(dir string, pid int) error {
	path := filepath.Join(dir, PIDFile)
	if err := os.WriteFile(path+".tmp", []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// readPID reads the PID file in dir.
func readPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, PIDFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: %q is not a PID", filepath.Join(dir, PIDFile), b)
	}
	return pid, nil
}

// runningDevice is the PID of the device process the PID file in dir
// names, if that process runs (and is a device process: a PID reused by
// another program does not count).
func runningDevice(dir string) (int, bool) {
	pid, err := readPID(dir)
	if err != nil {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, false
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	return pid, argv0 == Role // a zombie's cmdline is empty
}

// stopWait is how long StopDevice waits for the device process to exit.
const stopWait = 10 * time.Second

// StopDevice stops the device process of the state directory dir, if one
// runs (stopped says so), and waits for it to exit, which removes the
// device and its routes: for a node that leaves the WireGuard overlay for
// good, and for tests.
func StopDevice(dir string) (stopped bool, err error) {
	pid, ok := runningDevice(dir)
	if !ok {
		return false, nil
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return false, fmt.Errorf("wireguard: stop the device process %d: %w", pid, err)
	}
	deadline := time.Now().Add(stopWait)
	for {
		if _, ok := runningDevice(dir); !ok {
			return true, nil
		}
		if time.Now().After(deadline) {
			_ = unix.Kill(pid, unix.SIGKILL)
			return true, fmt.Errorf("wireguard: the device process %d did not stop within %s: killed", pid, stopWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
