package rpc

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// protoHTTP opens an HTTP tunnel: after the handshake the connection
// carries plain HTTP/1.1 to the accepting agent's HTTP API. Servers of
// other regions forward requests with it, so a region needs nothing but
// the RPC port reachable from the others, as in Nomad.
const protoHTTP byte = 'H'

// tunnelRoles are the peers that may open an HTTP tunnel: servers, of this
// region or of another.
var tunnelRoles = map[string]bool{RoleServer: true, RoleRegion: true}

// HTTPTunnel is the net.Listener of the HTTP connections tunnelled
// through the RPC port; serve the agent's HTTP API on it.
type HTTPTunnel struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHTTPTunnel(addr net.Addr) *HTTPTunnel {
	return &HTTPTunnel{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// handoff passes an authenticated connection to whoever serves the tunnel;
// with no one serving within the handshake timeout, it is closed.
func (t *HTTPTunnel) handoff(c net.Conn) {
	select {
	case t.conns <- c:
	case <-t.closed:
		c.Close()
	case <-time.After(handshakeTimeout):
		c.Close()
	}
}

// Accept implements net.Listener.
func (t *HTTPTunnel) Accept() (net.Conn, error) {
	select {
	case c := <-t.conns:
		return c, nil
	case <-t.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener; the mux owns the real listener.
func (t *HTTPTunnel) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}

// Addr implements net.Listener.
func (t *HTTPTunnel) Addr() net.Addr { return t.addr }

// DialHTTP opens an HTTP tunnel to the agent whose RPC port is at addr,
// introduced as dc says. Use it as an http.Transport's DialContext.
func DialHTTP(ctx context.Context, addr string, dc DialConfig) (net.Conn, error) {
	timeout := dialTimeout
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	conn, err := dial(addr, protoHTTP, timeout, dc)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// errTunnelRole refuses a tunnel to a peer that is not a server.
var errTunnelRole = errors.New("only servers may open HTTP tunnels")
