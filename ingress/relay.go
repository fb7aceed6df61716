package ingress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The loop's side of a request: route it, write it to an instance,
// relay the response. What it does matches forward (the fast path of
// requests net/http serves): hop-by-hop headers dropped both ways (those
// named in Connection too), X-Forwarded-For/-Host/-Proto set, incoming
// ones dropped, the Host kept, the next instance tried when one cannot
// be reached, a stream passed on as it comes (what was written is flushed
// before any read from the instance that may wait), trailers passed on.

// Errors of an instance's response.
var (
	errBadResponse  = errors.New("malformed response head")
	errHeadTooLarge = fmt.Errorf("response head over %d KiB", upstreamReadBuffer>>10)
	errSwitching    = errors.New("101 Switching Protocols to a request without Upgrade")
	errBadChunk     = errors.New("malformed chunked body")
)

// bodyMode is how a response's body goes to the client.
type bodyMode int

const (
	bodyLength  bodyMode = iota // Content-Length bytes
	bodyNone                    // HEAD, 204, 304
	bodyChunked                 // chunked, as it came
	bodyDechunk                 // chunked from the instance, plain to an HTTP/1.0 client, which then closes
	bodyToEOF                   // until the instance closes; the client's connection closes too
)

// serveRequest answers c.req and consumes it; false when the connection
// is to close.
func (c *serverConn) serveRequest() bool {
	defer c.br.Discard(c.req.size)
	start := time.Now()
	route := c.route()
	switch {
	case route == nil:
		return c.writeError(http.StatusNotFound, "ingress: no route for "+string(c.req.host)+c.path(), false)
	case len(route.Instances) == 0:
		route.stats.record(0, true)
		return c.writeError(http.StatusServiceUnavailable, fmt.Sprintf("ingress: no instance of %s/%s is up", route.Namespace, route.Service), true)
	}
	c.buildRequest()
	if c.bw.Buffered() > 0 { // the answer to a pipelined request before
		if err := c.bw.Flush(); err != nil {
			return false
		}
	}
	pc, err := c.exchange(route)
	if err != nil {
		keep := c.writeError(http.StatusBadGateway, "ingress: no instance answered: "+err.Error(), false)
		route.stats.record(time.Since(start), true)
		return keep
	}
	keep := c.relay(pc)
	route.stats.record(time.Since(start), c.resp.status >= 500)
	return keep
}

// route looks the request's route up, allocating nothing for a
// lower-case host and a path without escapes of up to 32 bytes each.
func (c *serverConn) route() *Route {
	t := c.srv.proxy.table.Load()
	p := c.rawPath()
	if bytes.IndexByte(p, '%') >= 0 {
		return t.lookup(string(c.req.host), c.path())
	}
	return t.lookup(string(c.req.host), string(p))
}

// rawPath is the request target's path, as sent.
func (c *serverConn) rawPath() []byte {
	if i := bytes.IndexByte(c.req.target, '?'); i >= 0 {
		return c.req.target[:i]
	}
	return c.req.target
}

// path is the request's path, unescaped, as net/http's URL.Path
// (parseRequest took only well-formed escapes).
func (c *serverConn) path() string {
	u, _ := url.PathUnescape(string(c.rawPath()))
	return u
}

// buildRequest writes the request for an instance into c.out: the
// client's request line (as HTTP/1.1) and Host, its end-to-end headers,
// X-Forwarded-*.
func (c *serverConn) buildRequest() {
	req := &c.req
	b := append(c.out[:0], req.method...)
	b = append(b, ' ')
	b = append(b, req.target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.host...)
	b = append(b, "\r\n"...)
	for _, f := range req.fields {
		if hopByHopName(f.name) || forwardingName(f.name) || listed(req.dropped, f.name) {
			continue
		}
		b = appendField(b, f.name, f.value)
	}
	if req.teTrailers {
		b = append(b, "Te: trailers\r\n"...)
	}
	if len(c.remoteIP) > 0 {
		b = append(b, "X-Forwarded-For: "...)
		b = append(b, c.remoteIP...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "X-Forwarded-Host: "...)
	b = append(b, req.host...)
	c.out = append(b, "\r\nX-Forwarded-Proto: http\r\n\r\n"...)
}

func appendField(b, name, value []byte) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// exchange sends c.out to the route's instances, round-robin, the next
// tried when one cannot be reached (and, on a kept-alive connection the
// instance closed meanwhile, the same one again on a fresh connection),
// and reads the response head into c.resp; the connection is returned
// with the body still to read.
func (c *serverConn) exchange(route *Route) (*upstreamConn, error) {
	t := c.srv.proxy.transport
	ups := route.Instances
	first := route.next.Add(1)
	var err error
	for i := range uint64(min(len(ups), maxAttempts)) {
		addr := ups[(first+i)%uint64(len(ups))].Address
		for {
			pc, reused, gerr := t.get(context.Background(), addr)
			if gerr != nil {
				err = gerr
				break
			}
			if err = c.roundTrip(pc); err == nil {
				return pc, nil
			}
			pc.conn.Close()
			if !reused || !closedByPeer(err) {
				break
			}
		}
	}
	return nil, err
}

// roundTrip writes c.out on pc and reads the response head, past any
// informational (1xx) ones.
func (c *serverConn) roundTrip(pc *upstreamConn) error {
	if _, err := pc.conn.Write(c.out); err != nil {
		return err
	}
	for {
		buf, _ := pc.br.Peek(pc.br.Buffered())
		switch parseResponse(buf, &c.resp) {
		case parseDone:
			switch {
			case c.resp.status == http.StatusSwitchingProtocols:
				return errSwitching
			case c.resp.status < 200:
				pc.br.Discard(c.resp.size) // 100, 103 Early Hints: the real one follows
				continue
			}
			return nil
		case parseOther:
			return errBadResponse
		}
		if pc.br.Buffered() == pc.br.Size() {
			return errHeadTooLarge
		}
		if _, err := pc.br.Peek(pc.br.Buffered() + 1); err != nil {
			return err
		}
	}
}

// relay writes the response in c.resp to the client, its body read from
// pc, and puts pc back in the pool when it can carry another request;
// false when the client's connection is to close.
func (c *serverConn) relay(pc *upstreamConn) bool {
	req, resp := &c.req, &c.resp
	mode := bodyLength
	switch {
	case req.isHead || resp.status == http.StatusNoContent || resp.status == http.StatusNotModified:
		mode = bodyNone
	case resp.chunked && req.http10:
		mode = bodyDechunk
	case resp.chunked:
		mode = bodyChunked
	case resp.contentLength < 0:
		mode = bodyToEOF
	}
	keep := req.keepAlive && mode != bodyDechunk && mode != bodyToEOF && !c.srv.closing.Load()
	c.writeResponseHead(mode, keep)
	pc.br.Discard(resp.size)
	var err error
	switch mode {
	case bodyLength:
		err = c.copyBody(pc, resp.contentLength)
	case bodyChunked, bodyDechunk:
		err = c.copyChunked(pc, mode == bodyChunked)
	case bodyToEOF:
		err = c.copyBody(pc, -1)
	}
	if err == nil && resp.keepAlive && mode != bodyToEOF && pc.br.Buffered() == 0 {
		c.srv.proxy.transport.put(pc)
	} else {
		pc.conn.Close()
	}
	return err == nil && keep
}

// writeResponseHead writes the status line and the end-to-end headers of
// c.resp, with the framing of mode and the client connection's fate.
func (c *serverConn) writeResponseHead(mode bodyMode, keep bool) {
	resp := &c.resp
	c.writeStatusLine(resp.statusText)
	for _, f := range resp.fields {
		switch {
		case hopByHopName(f.name):
			if mode != bodyChunked || !asciiEqualFold(f.name, "trailer") {
				continue // the trailers announced pass when the body stays chunked
			}
		case listed(resp.dropped, f.name):
			continue
		case resp.chunked && asciiEqualFold(f.name, "content-length"):
			continue
		}
		c.writeField(f.name, f.value)
	}
	if !resp.hasDate {
		c.writeDate()
	}
	if mode == bodyChunked {
		c.bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	c.writeConnection(keep)
	c.bw.WriteString("\r\n")
}

// writeError answers the request itself (as http.Error does); false when
// the connection is to close.
func (c *serverConn) writeError(code int, msg string, retry bool) bool {
	keep := c.req.keepAlive && !c.srv.closing.Load()
	c.writeStatusLine(fmt.Appendf(c.scratch[:0], "%d %s", code, http.StatusText(code)))
	c.bw.WriteString("Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n")
	if retry {
		c.bw.WriteString("Retry-After: " + retryAfter + "\r\n")
	}
	c.writeDate()
	c.bw.WriteString("Content-Length: " + strconv.Itoa(len(msg)+1) + "\r\n")
	c.writeConnection(keep)
	c.bw.WriteString("\r\n")
	if !c.req.isHead {
		c.bw.WriteString(msg + "\n")
	}
	return keep
}

// writeStatusLine writes the status line: the version the client spoke
// and status ("200 OK").
func (c *serverConn) writeStatusLine(status []byte) {
	if c.req.http10 {
		c.bw.WriteString("HTTP/1.0 ")
	} else {
		c.bw.WriteString("HTTP/1.1 ")
	}
	c.bw.Write(status)
	c.bw.WriteString("\r\n")
}

func (c *serverConn) writeField(name, value []byte) {
	c.bw.Write(name)
	c.bw.WriteString(": ")
	c.bw.Write(value)
	c.bw.WriteString("\r\n")
}

func (c *serverConn) writeDate() {
	b := append(c.scratch[:0], "Date: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	c.bw.Write(append(b, "\r\n"...))
}

// writeConnection writes the Connection header the client needs: close
// when an HTTP/1.1 connection ends, keep-alive when an HTTP/1.0 one
// stays.
func (c *serverConn) writeConnection(keep bool) {
	switch {
	case !keep && !c.req.http10:
		c.bw.WriteString("Connection: close\r\n")
	case keep && c.req.http10:
		c.bw.WriteString("Connection: keep-alive\r\n")
	}
}

// copyBody copies n bytes (n < 0: up to the end) from pc to the client,
// flushing what was written before a read from pc.
func (c *serverConn) copyBody(pc *upstreamConn, n int64) error {
	for n != 0 {
		if pc.br.Buffered() == 0 {
			if err := c.bw.Flush(); err != nil {
				return err
			}
			if _, err := pc.br.Peek(1); err != nil {
				if err == io.EOF {
					if n < 0 {
						return nil
					}
					return io.ErrUnexpectedEOF
				}
				return err
			}
		}
		chunk, _ := pc.br.Peek(pc.br.Buffered())
		if n >= 0 && int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		if _, err := c.bw.Write(chunk); err != nil {
			return err
		}
		pc.br.Discard(len(chunk))
		if n > 0 {
			n -= int64(len(chunk))
		}
	}
	return nil
}

// copyChunked copies a chunked body from pc, trailers included: as it
// came (reframed chunk lines, extensions dropped) when reframe, else
// the data alone.
func (c *serverConn) copyChunked(pc *upstreamConn, reframe bool) error {
	for {
		line, err := c.upstreamLine(pc)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseUint(string(trimOWS(line)), 16, 62)
		if err != nil {
			return errBadChunk
		}
		if size == 0 {
			return c.copyTrailers(pc, reframe)
		}
		if reframe {
			b := strconv.AppendUint(c.scratch[:0], size, 16)
			c.bw.Write(append(b, "\r\n"...))
		}
		if err := c.copyBody(pc, int64(size)); err != nil {
			return err
		}
		if line, err = c.upstreamLine(pc); err != nil || len(line) != 0 {
			return errBadChunk
		}
		if reframe {
			c.bw.WriteString("\r\n")
		}
	}
}

// copyTrailers copies the trailer section after the last chunk.
func (c *serverConn) copyTrailers(pc *upstreamConn, reframe bool) error {
	if reframe {
		c.bw.WriteString("0\r\n")
	}
	for {
		line, err := c.upstreamLine(pc)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			if reframe {
				c.bw.WriteString("\r\n")
			}
			return nil
		}
		name, value, ok := splitField(line)
		if !ok {
			return errBadChunk
		}
		if reframe {
			c.writeField(name, value)
		}
	}
}

// upstreamLine reads a line of a chunked body from pc, without its
// ending, flushing what was written first when it has to wait.
func (c *serverConn) upstreamLine(pc *upstreamConn) ([]byte, error) {
	if pc.br.Buffered() == 0 {
		if err := c.bw.Flush(); err != nil {
			return nil, err
		}
	}
	line, err := pc.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
