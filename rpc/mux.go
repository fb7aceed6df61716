// Package rpc is the transport between Roam agents on the RPC port (4647):
// one TCP listener whose first byte on each connection selects Raft or
// multiplexed RPC, a net/rpc server over yamux streams, and a pool of
// client sessions with timeouts.
package rpc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Protocol bytes: the first byte a dialer writes on a new connection.
const (
	protoRaft byte = 'R'
	protoRPC  byte = 'M'
)

// handshakeTimeout bounds how long a new connection may take to name its
// protocol.
const handshakeTimeout = 5 * time.Second

// Mux accepts connections on the RPC port and routes each by its first
// byte: Raft connections to RaftLayer, RPC sessions to the RPC server.
// A connection that opens with any other byte is logged and closed.
type Mux struct {
	ln      net.Listener
	logger  *slog.Logger
	raft    *RaftLayer
	rpc     *Server
	closeMu sync.Mutex
	closed  bool
}

// Listen opens the RPC port. advertise is the address peers dial, which
// Raft records in its configuration.
func Listen(bind string, advertise net.Addr, logger *slog.Logger) (*Mux, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen for RPC on %s: %w", bind, err)
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	m := &Mux{ln: ln, logger: logger}
	m.raft = newRaftLayer(advertise)
	m.rpc = newServer(logger)
	go m.accept()
	return m, nil
}

// Addr is the listening address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// RaftLayer is the stream layer Raft's network transport uses.
func (m *Mux) RaftLayer() *RaftLayer { return m.raft }

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
	_ = conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		m.logger.Debug("RPC connection closed before naming its protocol", "remote", conn.RemoteAddr(), "error", err)
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	switch b[0] {
	case protoRaft:
		m.raft.handoff(conn)
	case protoRPC:
		m.rpc.serveSession(conn)
	default:
		m.logger.Error("unrecognized RPC protocol byte; closing connection (is a non-Roam client talking to the RPC port?)",
			"remote", conn.RemoteAddr(), "byte", fmt.Sprintf("%#02x", b[0]))
		conn.Close()
	}
}
