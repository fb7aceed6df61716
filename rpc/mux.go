// Package rpc is the transport between Roam agents on the RPC port (4647):
// one TCP listener whose first byte on each connection selects Raft,
// multiplexed RPC, an HTTP tunnel or TLS (which then carries one of the
// others), an
// authenticating handshake, a net/rpc server over yamux streams that checks
// every call against its peer, and a pool of client sessions with timeouts.
package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Protocol bytes: the first byte a dialer writes on a new connection. A
// TLS connection (protoTLS, Nomad's RPCTLS byte) carries, inside TLS, the
// byte of the protocol it wraps.
const (
	protoRaft byte = 'R'
	// protoRPC is RPC in JSON, which Roam spoke before protoRPCMsgpack:
	// still served, so that agents of an older version keep working
	// through an upgrade.
	protoRPC byte = 'M'
	// protoRPCMsgpack is RPC in msgpack (internal/codec), what Roam dials.
	protoRPCMsgpack byte = 0x01
	protoTLS        byte = 0x04
)

// handshakeTimeout bounds how long a new connection may take to name its
// protocol.
const handshakeTimeout = 5 * time.Second

// Mux accepts connections on the RPC port and routes each by its first
// byte: Raft connections to RaftLayer, RPC sessions to the RPC server,
// TLS connections through the TLS handshake to one of those. Every
// connection must pass the handshake's authentication; one that opens
// with any other byte, or is refused, is logged with the reason and closed.
type Mux struct {
	ln      net.Listener
	logger  *slog.Logger
	sec     Security
	raft    *RaftLayer
	rpc     *Server
	http    *HTTPTunnel
	closeMu sync.Mutex
	closed  bool
}

// Listen opens the RPC port. advertise is the address peers dial, which
// Raft records in its configuration; sec says who may connect and call
// what.
func Listen(bind string, advertise net.Addr, logger *slog.Logger, sec Security) (*Mux, error) {
	if sec.Authenticate == nil || sec.Authorize == nil {
		return nil, errors.New("rpc: Listen needs Authenticate and Authorize")
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen for RPC on %s: %w", bind, err)
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	m := &Mux{ln: ln, logger: logger, sec: sec}
	m.raft = newRaftLayer(advertise, sec.Dial)
	m.rpc = newServer(logger, sec.Authorize)
	m.http = newHTTPTunnel(advertise)
	go m.accept()
	return m, nil
}

// Addr is the listening address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// RaftLayer is the stream layer Raft's network transport uses.
func (m *Mux) RaftLayer() *RaftLayer { return m.raft }

// HTTPTunnel is the listener of HTTP connections tunnelled through the
// port (see DialHTTP).
func (m *Mux) HTTPTunnel() *HTTPTunnel { return m.http }

// RPC is the RPC server: register endpoints on it.
func (m *Mux) RPC() *Server { return m.rpc }

// Close stops accepting connections.
func (m *Mux) Close() error {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.raft.close()
	_ = m.http.Close()
	return m.ln.Close()
}

func (m *Mux) accept() {
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.logger.Warn("accept RPC connection", "error", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go m.route(conn)
	}
}

func (m *Mux) route(conn net.Conn) {
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	conn, state, proto, ok := m.protocol(conn)
	if !ok {
		return
	}
	authenticate := m.sec.Authenticate
	switch proto {
	case protoRaft:
		authenticate = func(ci ConnInfo) (Peer, error) {
			p, err := m.sec.Authenticate(ci)
			if err == nil && p.Role != RoleServer {
				err = errors.New("only servers may open Raft connections")
			}
			return p, err
		}
	case protoHTTP:
		authenticate = func(ci ConnInfo) (Peer, error) {
			p, err := m.sec.Authenticate(ci)
			if err == nil && !tunnelRoles[p.Role] {
				err = errTunnelRole
			}
			return p, err
		}
	}
	peer, err := challenge(conn, state, authenticate)
	if err != nil {
		m.refuse(conn, err.Error())
		return
	}
	_ = conn.SetDeadline(time.Time{})
	switch proto {
	case protoRaft:
		m.raft.handoff(conn)
		return
	case protoHTTP:
		m.http.handoff(conn)
		return
	}
	m.rpc.serveSession(conn, peer, proto)
}

// protocol reads the protocol byte, unwrapping TLS when the connection
// opens with it, and enforces the port's TLS setting. It returns the
// connection to speak on (the TLS one, if any), its TLS state and the
// inner protocol; ok is false when the connection was refused and closed.
func (m *Mux) protocol(conn net.Conn) (net.Conn, *tls.ConnectionState, byte, bool) {
	proto, err := readByte(conn)
	if err != nil {
		m.logger.Debug("RPC connection closed before naming its protocol", "remote", conn.RemoteAddr(), "error", err)
		conn.Close()
		return nil, nil, 0, false
	}
	var state *tls.ConnectionState
	switch {
	case proto == protoTLS && m.sec.TLS == nil:
		m.refuse(conn, "TLS connection to an RPC port without TLS (set tls { rpc = true } on this agent too)")
		return nil, nil, 0, false
	case proto == protoTLS:
		tc := tls.Server(conn, m.sec.TLS)
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			m.refuse(conn, "TLS handshake failed: "+err.Error())
			return nil, nil, 0, false
		}
		cs := tc.ConnectionState()
		state, conn = &cs, tc
		if proto, err = readByte(conn); err != nil {
			m.refuse(conn, "TLS connection closed before naming its protocol")
			return nil, nil, 0, false
		}
	case m.sec.TLS != nil && (proto == protoRaft || proto == protoRPC || proto == protoRPCMsgpack || proto == protoHTTP):
		m.refuse(conn, "plain-text connection to an RPC port that requires TLS (tls.rpc = true)")
		return nil, nil, 0, false
	}
	if proto != protoRaft && proto != protoRPC && proto != protoRPCMsgpack && proto != protoHTTP {
		m.logger.Error("unrecognized RPC protocol byte; closing connection (is a non-Roam client talking to the RPC port?)",
			"remote", conn.RemoteAddr(), "byte", fmt.Sprintf("%#02x", proto))
		conn.Close()
		return nil, nil, 0, false
	}
	return conn, state, proto, true
}

// refuse logs why a connection is turned away and closes it.
func (m *Mux) refuse(conn net.Conn, reason string) {
	m.logger.Warn("refused RPC connection: "+reason, "remote", conn.RemoteAddr())
	conn.Close()
}

func readByte(r io.Reader) (byte, error) {
	var b [1]byte
	_, err := io.ReadFull(r, b[:])
	return b[0], err
}

// dial connects to addr's RPC port, in TLS when dc says so, names proto
// and introduces itself.
func dial(addr string, proto byte, timeout time.Duration, dc DialConfig) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(timeout + handshakeTimeout))
	if dc.TLS != nil {
		if _, err := conn.Write([]byte{protoTLS}); err != nil {
			conn.Close()
			return nil, err
		}
		tc := tls.Client(conn, dc.TLS())
		ctx, cancel := context.WithTimeout(context.Background(), timeout+handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	if _, err := conn.Write([]byte{proto}); err != nil {
		conn.Close()
		return nil, err
	}
	if err := introduce(conn, dc); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}
