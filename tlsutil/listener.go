package tlsutil

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// HandshakeTimeout bounds how long a peer may take to complete the TLS
// handshake.
const HandshakeTimeout = 10 * time.Second

// tlsRecordHandshake is the first byte of every TLS connection.
const tlsRecordHandshake = 0x16

// plainHTTPAnswer is what a plain-HTTP request to the HTTPS port gets, as
// Go's own HTTPS server answers it.
const plainHTTPAnswer = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// Listener serves TLS on a listener, completing each handshake before
// Accept returns the connection, so that every refusal (plain text, a
// certificate from another CA, an expired one) is logged with its reason.
type Listener struct {
	inner  net.Listener
	cfg    *tls.Config
	logger *slog.Logger
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
}

// NewListener wraps ln; logger receives a line for each refused
// connection.
func NewListener(ln net.Listener, cfg *tls.Config, logger *slog.Logger) *Listener {
	l := &Listener{inner: ln, cfg: cfg, logger: logger, conns: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.Close()
				return
			}
			l.logger.Warn("accept HTTPS connection", "error", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go l.handshake(c)
	}
}

func (l *Listener) handshake(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(HandshakeTimeout))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	if first[0] != tlsRecordHandshake {
		l.logger.Warn("refused plain-text connection to the HTTPS port (tls.http = true): use https://",
			"remote", c.RemoteAddr())
		_, _ = c.Write([]byte(plainHTTPAnswer))
		c.Close()
		return
	}
	tc := tls.Server(&peekedConn{Conn: c, r: br}, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		l.logger.Warn("refused HTTPS connection: TLS handshake failed", "remote", c.RemoteAddr(), "error", err)
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	select {
	case l.conns <- tc:
	case <-l.done:
		tc.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// peekedConn reads through the buffer that peeked at the first byte.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
