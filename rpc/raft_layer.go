package rpc

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// RaftLayer carries Raft's traffic over the shared RPC port. It implements
// raft.StreamLayer.
type RaftLayer struct {
	addr   net.Addr
	dial   DialConfig
	conns  chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newRaftLayer(addr net.Addr, dc DialConfig) *RaftLayer {
	return &RaftLayer{addr: addr, dial: dc, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *RaftLayer) handoff(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

// Accept implements net.Listener.
func (l *RaftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, errors.New("raft layer closed")
	}
}

// Close implements net.Listener; the mux owns the real listener.
func (l *RaftLayer) Close() error {
	l.close()
	return nil
}

func (l *RaftLayer) close() { l.once.Do(func() { close(l.closed) }) }

// Addr implements net.Listener: the advertised address.
func (l *RaftLayer) Addr() net.Addr { return l.addr }

// Dial implements raft.StreamLayer: it connects to a peer's RPC port,
// names the Raft protocol and authenticates as a server.
func (l *RaftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dial(string(address), protoRaft, timeout, l.dial)
}
