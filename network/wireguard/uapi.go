package wireguard

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/sys/unix"
)

// uapiTimeout bounds one request on the device's UAPI socket.
const uapiTimeout = 5 * time.Second

// uapiPeer is one peer as the UAPI's get reports it.
type uapiPeer struct {
	endpoint  string
	allowed   []string // sorted
	keepalive bool     // a persistent keepalive is on
	handshake time.Time
}

// deviceState is the device's configuration as the UAPI's get reports it.
type deviceState struct {
	privateKey string // hex
	listenPort int
	peers      map[string]*uapiPeer // by public key, hex
}

// publicKey is the hex public key of the device's private key ("" without
// one).
func (s *deviceState) publicKey() string {
	raw, err := hex.DecodeString(s.privateKey)
	if err != nil || len(raw) != 32 {
		return ""
	}
	pub, err := curve25519.X25519(raw, curve25519.Basepoint)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(pub)
}

// section is the peer's configuration as Sync writes it, when it has the
// one allowed subnet Sync gives a peer ("" otherwise).
func (p *uapiPeer) section(key string) string {
	if len(p.allowed) != 1 || p.endpoint == "" {
		return ""
	}
	return peerSection(key, p.endpoint, p.allowed[0])
}

// peerSection configures the peer of hex key with its endpoint and allowed
// subnet, in the UAPI's set syntax.
func peerSection(key, endpoint, allowed string) string {
	return fmt.Sprintf("public_key=%s\nendpoint=%s\nreplace_allowed_ips=true\nallowed_ip=%s\n", key, endpoint, allowed)
}

// parseGet reads the key=value lines of a UAPI get answer.
func parseGet(get string) *deviceState {
	s := &deviceState{peers: map[string]*uapiPeer{}}
	var p *uapiPeer
	var sec, nsec int64
	for _, line := range strings.Split(get, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "private_key":
			s.privateKey = v
		case "listen_port":
			s.listenPort, _ = strconv.Atoi(v)
		case "public_key":
			p, sec, nsec = &uapiPeer{}, 0, 0
			s.peers[v] = p
		}
		if p == nil {
			continue
		}
		switch k {
		case "endpoint":
			p.endpoint = v
		case "allowed_ip":
			p.allowed = append(p.allowed, v)
			sort.Strings(p.allowed)
		case "persistent_keepalive_interval":
			p.keepalive = v != "" && v != "0"
		case "last_handshake_time_sec":
			sec, _ = strconv.ParseInt(v, 10, 64)
		case "last_handshake_time_nsec":
			nsec, _ = strconv.ParseInt(v, 10, 64)
		}
		if sec != 0 {
			p.handshake = time.Unix(sec, nsec)
		}
	}
	return s
}

// uapiRequest sends one request (its operation line and body) to the UAPI
// socket at path and returns the answer's lines before its errno, and the
// errno as an error (nil for 0).
func uapiRequest(path, req string) (string, error) {
	c, err := net.DialTimeout("unix", path, uapiTimeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(uapiTimeout))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	var body strings.Builder
	for r := bufio.NewReader(c); ; {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("read the answer: %w", err)
		}
		if v, ok := strings.CutPrefix(line, "errno="); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return "", fmt.Errorf("answer %q: %w", line, err)
			}
			return body.String(), errnoError(n)
		}
		body.WriteString(line)
	}
}

// errnoError is the error a UAPI errno stands for: wireguard-go answers the
// negated errno of what failed (EADDRINUSE when the listen port is taken).
func errnoError(n int64) error {
	switch {
	case n == 0:
		return nil
	case n < 0:
		return fmt.Errorf("errno %d: %w", n, unix.Errno(-n))
	}
	return fmt.Errorf("errno %d", n)
}

// uapiGet reads the device's configuration from its UAPI socket at path.
func uapiGet(path string) (*deviceState, error) {
	get, err := uapiRequest(path, "get=1\n\n")
	if err != nil {
		return nil, fmt.Errorf("wireguard: UAPI get on %s: %w", path, err)
	}
	return parseGet(get), nil
}

// uapiSet applies conf (UAPI set lines) through the UAPI socket at path.
func uapiSet(path, conf string) error {
	if _, err := uapiRequest(path, "set=1\n"+conf+"\n"); err != nil {
		return fmt.Errorf("wireguard: UAPI set on %s: %w", path, err)
	}
	return nil
}
