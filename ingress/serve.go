package ingress

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server serves the ingress's plain-HTTP port with a loop of its own for
// the requests most clients send: HTTP/1.0 and 1.1 without a body, not
// an upgrade. It reads them from a per-connection buffer (pipelined ones
// too), writes each straight onto a pooled connection to an instance and
// relays the response as it comes, keeping the connection alive; no
// net/http server machinery, maps or goroutines per request. At the
// first request it does not take (a body, an upgrade, Expect, a head
// over its buffer, anything malformed), it hands the connection, that
// request's bytes included, to net/http's server, whose Handler is the
// Proxy, for the rest of the connection's life. Both drop hop-by-hop
// headers and set X-Forwarded-* the same way.
type Server struct {
	proxy         *Proxy
	fallback      *http.Server
	handoff       *handoffListener
	headerTimeout time.Duration
	idleTimeout   time.Duration
	closing       atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[*serverConn]struct{}
}

// Buffer sizes of a client connection on the loop.
const (
	clientReadBuffer  = 8 << 10 // the largest request head the loop takes
	clientWriteBuffer = 8 << 10
)

// NewServer returns a Server for p. fallback serves the connections
// handed over (its Handler is set to p) and lends the loop its
// ReadHeaderTimeout and IdleTimeout (zero: none).
func NewServer(p *Proxy, fallback *http.Server) *Server {
	fallback.Handler = p
	return &Server{proxy: p, fallback: fallback, handoff: newHandoffListener(),
		headerTimeout: fallback.ReadHeaderTimeout, idleTimeout: fallback.IdleTimeout,
		conns: map[*serverConn]struct{}{}}
}

// Serve accepts connections on ln until Shutdown; it then returns
// http.ErrServerClosed. A Server serves one listener.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	if s.closing.Load() {
		ln.Close()
		return http.ErrServerClosed
	}
	s.handoff.addr = ln.Addr()
	go s.fallback.Serve(s.handoff) //nolint:errcheck // ends with Shutdown
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff) // as net/http does when out of descriptors
				continue
			}
			return err
		}
		backoff = 0
		c := newServerConn(s, conn)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, waits for the
// others to finish their response (they close after it) or for ctx to
// end, and shuts the fallback server down likewise.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	s.handoff.Close() // net/http's Shutdown closes it too, unless its Serve has not begun
	fallbackDone := make(chan error, 1)
	go func() { fallbackDone <- s.fallback.Shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() == 0 {
			return <-fallbackDone
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle closes the connections waiting for a request and returns how
// many connections are left.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.conn.Close()
		}
	}
	return len(s.conns)
}

func (s *Server) forget(c *serverConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// serverConn is one client connection on the loop.
type serverConn struct {
	srv      *Server
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	remoteIP []byte    // for X-Forwarded-For
	deadline time.Time // the read deadline set
	idle     atomic.Bool
	req      requestHead
	resp     responseHead
	out      []byte   // the request for the instance, being built
	scratch  [64]byte // for a date, a chunk size, a status line
}

var (
	clientReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, clientReadBuffer) }}
	clientWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, clientWriteBuffer) }}
)

func newServerConn(s *Server, conn net.Conn) *serverConn {
	c := &serverConn{srv: s, conn: conn}
	if host, _, err := net.SplitHostPort(conn.RemoteAddr().String()); err == nil {
		c.remoteIP = []byte(host)
	}
	c.br = clientReaders.Get().(*bufio.Reader)
	c.br.Reset(conn)
	c.bw = clientWriters.Get().(*bufio.Writer)
	c.bw.Reset(conn)
	return c
}

// errHandoff says the request at the head of the buffer is net/http's.
var errHandoff = errors.New("request for net/http")

// serve runs the loop: read a request, answer it, until the client or
// the server ends the connection, or a request goes to net/http.
func (c *serverConn) serve() {
	defer c.srv.forget(c)
	for {
		err := c.readRequest()
		if err == errHandoff {
			c.handOff()
			return
		}
		if err != nil || !c.serveRequest() {
			break
		}
	}
	c.bw.Flush()
	c.conn.Close()
	c.release()
}

// release returns the buffers to their pools.
func (c *serverConn) release() {
	c.br.Reset(nil)
	clientReaders.Put(c.br)
	c.bw.Reset(nil)
	clientWriters.Put(c.bw)
	c.br, c.bw = nil, nil
}

// readRequest reads until a whole request head is buffered and parses
// it into c.req; errHandoff when the loop does not take it. What was
// written is flushed before any read that may wait.
func (c *serverConn) readRequest() error {
	if c.br.Buffered() == 0 {
		if err := c.bw.Flush(); err != nil {
			return err
		}
		c.idle.Store(true)
		if c.srv.closing.Load() {
			return http.ErrServerClosed
		}
		c.armDeadline(c.srv.idleTimeout)
		_, err := c.br.Peek(1)
		c.idle.Store(false)
		if err != nil {
			return err
		}
	}
	for armed := false; ; armed = true {
		buf, _ := c.br.Peek(c.br.Buffered())
		switch parseRequest(buf, &c.req) {
		case parseDone:
			return nil
		case parseOther:
			return errHandoff
		}
		if c.br.Buffered() == c.br.Size() {
			return errHandoff // a head too big for the loop: net/http's limit is larger
		}
		if err := c.bw.Flush(); err != nil {
			return err
		}
		if !armed {
			c.armDeadline(c.srv.headerTimeout)
		}
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			return err
		}
	}
}

// armDeadline sets the read deadline d from now (none for 0). Each
// request would otherwise reset the timer; the deadline is only moved
// when it is more than an eighth of d earlier than wanted, so a
// connection may be closed up to that much before d.
func (c *serverConn) armDeadline(d time.Duration) {
	if d <= 0 {
		return
	}
	want := time.Now().Add(d)
	if want.Sub(c.deadline) > d/8 || want.Before(c.deadline) {
		c.deadline = want
		c.conn.SetReadDeadline(want)
	}
}

// handOff gives the connection to net/http's server, what is buffered
// first.
func (c *serverConn) handOff() {
	if err := c.bw.Flush(); err != nil {
		c.conn.Close()
		c.release()
		return
	}
	buffered, _ := c.br.Peek(c.br.Buffered())
	rc := &replayConn{Conn: c.conn, pending: append([]byte(nil), buffered...)}
	c.release()
	c.conn.SetReadDeadline(time.Time{}) // net/http sets its own
	if !c.srv.handoff.push(rc) {
		c.conn.Close()
	}
}

// replayConn is a connection handed to net/http: reads return the bytes
// the loop had buffered, then the connection's.
type replayConn struct {
	net.Conn
	pending []byte
}

func (r *replayConn) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}

// CloseWrite half-closes the connection, which net/http does before
// closing after an error answer.
func (r *replayConn) CloseWrite() error {
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// handoffListener is the listener net/http's server accepts handed-over
// connections from.
type handoffListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func newHandoffListener() *handoffListener {
	return &handoffListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c over; false once the listener is closed.
func (l *handoffListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }
