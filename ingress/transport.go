package ingress

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Limits of the upstream connection pool.
const (
	maxIdlePerHost = 512
	idleTimeout    = 60 * time.Second
	dialTimeout    = 5 * time.Second
	// upstreamReadBuffer bounds the response heads the serving loop
	// takes; the fast path for requests net/http serves has no limit.
	upstreamReadBuffer = 16 << 10
)

// upstreamTransport sends requests to the instances over kept-alive
// HTTP/1.1 connections. A request without a body (most of them: GET,
// HEAD, DELETE...) is written and its response read on the calling
// goroutine, on a pooled connection: no per-connection reader and writer
// goroutines to hand each request through, as net/http's Transport has.
// Requests with a body, upgrades (WebSockets) and anything but plain HTTP
// go through the fallback Transport, which can stream a body while the
// response arrives.
type upstreamTransport struct {
	fallback *http.Transport
	dialer   net.Dialer

	mu   sync.Mutex
	idle map[string][]*upstreamConn // by host:port, most recently used last
}

// upstreamConn is one connection to an instance.
type upstreamConn struct {
	conn     net.Conn
	addr     string
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
}

func newUpstreamTransport() *upstreamTransport {
	return &upstreamTransport{
		fallback: newTransport(),
		dialer:   net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		idle:     map[string][]*upstreamConn{},
	}
}

// RoundTrip implements http.RoundTripper.
func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || (req.Body != nil && req.Body != http.NoBody) || req.Header.Get("Upgrade") != "" {
		return t.fallback.RoundTrip(req)
	}
	return t.exchange(req.Context(), req.URL.Host, req, req.Write)
}

// exchange sends a request without a body to addr, written by write, and
// reads the response to req (only its method matters).
func (t *upstreamTransport) exchange(ctx context.Context, addr string, req *http.Request, write func(io.Writer) error) (*http.Response, error) {
	for {
		pc, reused, err := t.get(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, err := t.send(ctx, pc, req, write)
		if err == nil {
			return resp, nil
		}
		pc.conn.Close()
		// A kept-alive connection the instance closed meanwhile fails
		// before any answer: send again on a fresh one (no body was sent,
		// so this is safe).
		if !reused || ctx.Err() != nil || !closedByPeer(err) {
			return nil, err
		}
	}
}

// send writes a request on pc with write and reads the response head; the body reads from
// pc, which goes back to the pool once the body is read to its end.
func (t *upstreamTransport) send(ctx context.Context, pc *upstreamConn, req *http.Request, write func(io.Writer) error) (*http.Response, error) {
	stop := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(time.Unix(1, 0)) })
	if err := write(pc.bw); err != nil {
		stop()
		return nil, err
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, err
	}
	for {
		resp, err := http.ReadResponse(pc.br, req)
		if err != nil {
			stop()
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // an informational answer (103 Early Hints): the real one follows
		}
		resp.Body = &upstreamBody{body: resp.Body, pc: pc, t: t, keep: !resp.Close, stop: stop}
		return resp, nil
	}
}

// get returns an idle connection to addr, or dials one.
func (t *upstreamTransport) get(ctx context.Context, addr string) (pc *upstreamConn, reused bool, err error) {
	now := time.Now()
	t.mu.Lock()
	for conns := t.idle[addr]; len(conns) > 0; conns = t.idle[addr] {
		pc = conns[len(conns)-1]
		t.idle[addr] = conns[:len(conns)-1]
		if now.Sub(pc.lastUsed) < idleTimeout {
			t.mu.Unlock()
			return pc, true, nil
		}
		pc.conn.Close()
	}
	t.mu.Unlock()
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &upstreamConn{conn: conn, addr: addr, br: bufio.NewReaderSize(conn, upstreamReadBuffer), bw: bufio.NewWriterSize(conn, 4<<10)}, false, nil
}

// put returns a connection whose last response was read whole.
func (t *upstreamTransport) put(pc *upstreamConn) {
	pc.lastUsed = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.idle[pc.addr]) >= maxIdlePerHost {
		pc.conn.Close()
		return
	}
	t.idle[pc.addr] = append(t.idle[pc.addr], pc)
}

// keepOnly closes the idle connections to instances not in addrs (they
// left the routing table); the fallback's close after IdleConnTimeout.
func (t *upstreamTransport) keepOnly(addrs map[string]bool) {
	t.mu.Lock()
	for addr, conns := range t.idle {
		if addrs[addr] {
			continue
		}
		for _, pc := range conns {
			pc.conn.Close()
		}
		delete(t.idle, addr)
	}
	t.mu.Unlock()
}

// upstreamBody is a response body read from a pooled connection.
type upstreamBody struct {
	body io.ReadCloser
	pc   *upstreamConn
	t    *upstreamTransport
	keep bool // the connection may carry another request
	stop func() bool
	done bool
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	if err != nil {
		b.finish(err == io.EOF)
	}
	return n, err
}

// Close releases the connection: back to the pool when the body was read
// to its end, closed otherwise.
func (b *upstreamBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

func (b *upstreamBody) finish(whole bool) {
	b.done = true
	if !b.stop() {
		whole = false // the request's context ended: the deadline is set
	}
	b.body.Close()
	if whole && b.keep && b.pc.br.Buffered() == 0 {
		b.t.put(b.pc)
		return
	}
	b.pc.conn.Close()
}

// closedByPeer reports the errors of a kept-alive connection the other
// end closed: end of file, or a reset or broken pipe.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
