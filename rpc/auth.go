package rpc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"

	metrics "github.com/hashicorp/go-metrics/compat"
)

// Every connection to the RPC port, Raft or RPC, in TLS or not, opens with
// a handshake after its protocol byte: the accepting side sends a random
// nonce, the dialer answers with a Hello (its role and, with a cluster
// secret, a proof over the nonce), and the accepting side answers with an
// empty error or the reason it refuses. The authenticated Peer then
// decides, call by call, what the connection may do.

// nonceSize is the length of the accepting side's challenge.
const nonceSize = 32

// maxHelloSize bounds a Hello line.
const maxHelloSize = 4096

// Peer roles.
const (
	RoleServer = "server"
	RoleClient = "client"
	// RoleRegion is a server of another region: it may forward requests
	// (HTTP tunnels) and pull replicated state, never open Raft.
	RoleRegion = "region"
)

// Hello is what a dialer says after naming its protocol.
type Hello struct {
	// Role is RoleServer or RoleClient.
	Role string
	// Proof is Proof(secret, nonce) from a server that knows the cluster
	// secret.
	Proof string `json:",omitempty"`
}

// helloAnswer is the accepting side's verdict on a Hello.
type helloAnswer struct {
	Error string `json:",omitempty"`
}

// Peer is the authenticated other end of a connection.
type Peer struct {
	Role   string
	Remote net.Addr
}

// ConnInfo is what an Authenticate function decides on.
type ConnInfo struct {
	Remote net.Addr
	// TLS is the verified TLS state, nil on a plain connection.
	TLS   *tls.ConnectionState
	Nonce []byte
	Hello Hello
}

// Security configures a mux's authentication and its own dialing.
type Security struct {
	// TLS is the accepting side's TLS configuration. When set, the port
	// refuses plain-text connections.
	TLS *tls.Config
	// Authenticate turns a handshake into a Peer, or refuses it; required.
	Authenticate func(ConnInfo) (Peer, error)
	// Authorize decides whether peer may call method ("Job.Register");
	// required.
	Authorize func(peer Peer, method string) error
	// Dial is how this mux's Raft layer dials other servers.
	Dial DialConfig
}

// DialConfig is how a dialer connects and introduces itself.
type DialConfig struct {
	// TLS returns the configuration for a new connection; nil dials plain
	// text. It is called on every dial, so reloaded certificates are used.
	TLS func() *tls.Config
	// Role is what the dialer claims to be (RoleServer or RoleClient).
	Role string
	// Secret is the cluster secret servers prove they know; empty when
	// there is none.
	Secret []byte
}

// Proof is the hex HMAC-SHA256 of nonce under secret.
func Proof(secret, nonce []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("roam-rpc-hello\x00"))
	mac.Write(nonce)
	return hex.EncodeToString(mac.Sum(nil))
}

// ValidProof reports whether proof is Proof(secret, nonce), in constant
// time.
func ValidProof(secret, nonce []byte, proof string) bool {
	got, err := hex.DecodeString(proof)
	if err != nil || len(secret) == 0 {
		return false
	}
	want, _ := hex.DecodeString(Proof(secret, nonce))
	return hmac.Equal(got, want)
}

// errNoChallenge is a connection closed before the accepting side's
// challenge: it refused the protocol byte (an agent of an earlier version
// does so for one it does not know).
var errNoChallenge = errors.New("connection closed before the handshake challenge")

// introduce runs the dialer's side of the handshake on conn.
func introduce(conn net.Conn, dc DialConfig) error {
	nonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(conn, nonce); errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", errNoChallenge, err)
	} else if err != nil {
		return fmt.Errorf("read handshake challenge: %w", err)
	}
	hello := Hello{Role: dc.Role}
	if hello.Role == "" {
		hello.Role = RoleClient
	}
	if len(dc.Secret) > 0 {
		hello.Proof = Proof(dc.Secret, nonce)
	}
	if err := writeLine(conn, hello); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	var answer helloAnswer
	if err := readLine(conn, &answer); err != nil {
		return fmt.Errorf("read handshake answer: %w", err)
	}
	if answer.Error != "" {
		return fmt.Errorf("connection refused by the server: %s", answer.Error)
	}
	return nil
}

// challenge runs the accepting side of the handshake on conn.
func challenge(conn net.Conn, state *tls.ConnectionState, authenticate func(ConnInfo) (Peer, error)) (Peer, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return Peer{}, fmt.Errorf("generate challenge: %w", err)
	}
	if _, err := conn.Write(nonce); err != nil {
		return Peer{}, fmt.Errorf("send challenge: %w", err)
	}
	var hello Hello
	if err := readLine(conn, &hello); err != nil {
		return Peer{}, fmt.Errorf("no valid hello (not a Roam agent of this version?): %w", err)
	}
	peer, err := authenticate(ConnInfo{Remote: conn.RemoteAddr(), TLS: state, Nonce: nonce, Hello: hello})
	if err != nil {
		_ = writeLine(conn, helloAnswer{Error: err.Error()})
		return Peer{}, err
	}
	peer.Remote = conn.RemoteAddr()
	return peer, writeLine(conn, helloAnswer{})
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// readLine reads one JSON line byte by byte, so that nothing after it is
// consumed from the connection.
func readLine(r io.Reader, v any) error {
	var line []byte
	var b [1]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return err
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
		if len(line) > maxHelloSize {
			return errors.New("handshake line too long")
		}
	}
	return json.Unmarshal(line, v)
}

// deniedMethod is the endpoint a refused call is routed to, so that its
// caller gets the reason as the call's error.
const deniedMethod = "RPCAuth.Denied"

// DeniedArgs carries the reason a call was refused.
type DeniedArgs struct{ Reason string }

// deniedEndpoint answers refused calls.
type deniedEndpoint struct{}

// Denied returns the reason the call was refused.
func (deniedEndpoint) Denied(args *DeniedArgs, _ *DeniedArgs) error {
	return errors.New(args.Reason)
}

// callerRoleSetter is implemented by call arguments that want to know the
// role the caller authenticated as.
type callerRoleSetter interface{ SetCallerRole(role string) }

// authCodec checks every call of a session against the session's peer.
type authCodec struct {
	rpc.ServerCodec
	peer      Peer
	authorize func(Peer, string) error
	denied    string
}

// ReadRequestHeader reads a call and routes it to deniedMethod when the
// peer may not make it.
func (c *authCodec) ReadRequestHeader(r *rpc.Request) error {
	if err := c.ServerCodec.ReadRequestHeader(r); err != nil {
		return err
	}
	c.denied = ""
	metrics.IncrCounter([]string{"nomad", "rpc", "request"}, 1)
	if err := c.authorize(c.peer, r.ServiceMethod); err != nil {
		c.denied = err.Error()
		r.ServiceMethod = deniedMethod
	}
	return nil
}

// ReadRequestBody discards a refused call's arguments.
func (c *authCodec) ReadRequestBody(body any) error {
	if c.denied == "" {
		if err := c.ServerCodec.ReadRequestBody(body); err != nil {
			return err
		}
		if r, ok := body.(callerRoleSetter); ok {
			r.SetCallerRole(c.peer.Role)
		}
		return nil
	}
	if err := c.ServerCodec.ReadRequestBody(nil); err != nil {
		return err
	}
	if d, ok := body.(*DeniedArgs); ok {
		d.Reason = c.denied
	}
	return nil
}
