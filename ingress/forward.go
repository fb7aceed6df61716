package ingress

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
)

// The fast path: a request without a body and not an upgrade (most
// requests: GET, HEAD, DELETE...) is written straight onto a pooled
// upstream connection from the incoming request, and the response's
// headers straight into the client's, with none of the request clone and
// header maps a ReverseProxy makes per request. It does what the
// ReverseProxy does for these requests: hop-by-hop headers dropped both
// ways, X-Forwarded-For/-Host/-Proto set (incoming ones replaced), the
// Host kept, the next instance tried when one cannot be reached, a
// response of unknown length flushed as it comes, trailers passed on.

// canForward reports whether r takes the fast path.
func canForward(r *http.Request) bool {
	return (r.Body == nil || r.Body == http.NoBody) && r.Header.Get("Upgrade") == "" && r.ProtoMajor == 1
}

// forward sends r to the route's instances, round-robin, trying the next
// when one cannot be reached, and copies the response to w; it returns
// the status answered.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, route *Route) int {
	ups := route.Instances
	first := route.next.Add(1)
	write := func(out io.Writer) error { return writeRequest(out.(*bufio.Writer), r) }
	var resp *http.Response
	var err error
	for i := range uint64(min(len(ups), maxAttempts)) {
		resp, err = p.transport.exchange(r.Context(), ups[(first+i)%uint64(len(ups))].Address, r, write)
		if err == nil || r.Context().Err() != nil {
			break
		}
	}
	if err != nil {
		http.Error(w, "ingress: no instance answered: "+err.Error(), http.StatusBadGateway)
		return http.StatusBadGateway
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, vv := range resp.Header {
		if !hopByHop(k) {
			h[k] = vv
		}
	}
	for _, k := range connectionTokens(resp.Header) {
		delete(h, k)
	}
	w.WriteHeader(resp.StatusCode)
	buf := p.buffers.Get()
	defer p.buffers.Put(buf)
	if resp.ContentLength == -1 {
		copyFlushing(w, resp.Body, buf)
	} else {
		io.CopyBuffer(w, resp.Body, buf)
	}
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
	return resp.StatusCode
}

// copyFlushing copies a response of unknown length (a stream: chunked,
// server-sent events), flushing after each read as the ReverseProxy does.
func copyFlushing(w http.ResponseWriter, body io.Reader, buf []byte) {
	rc := http.NewResponseController(w)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// writeRequest writes r's request line and headers for an instance: the
// Host as the client sent it, hop-by-hop and incoming forwarding headers
// left out, X-Forwarded-* set.
func writeRequest(bw *bufio.Writer, r *http.Request) error {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(headerValue(r.Host))
	bw.WriteString("\r\n")
	drop := connectionTokens(r.Header)
	for k, vv := range r.Header {
		if hopByHop(k) || forwarding(k) || contains(drop, k) {
			if k == "Te" && teTrailers(vv) {
				bw.WriteString("Te: trailers\r\n")
			}
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(headerValue(v))
			bw.WriteString("\r\n")
		}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		bw.WriteString("X-Forwarded-For: ")
		bw.WriteString(ip)
		bw.WriteString("\r\n")
	}
	bw.WriteString("X-Forwarded-Host: ")
	bw.WriteString(headerValue(r.Host))
	if r.TLS == nil {
		bw.WriteString("\r\nX-Forwarded-Proto: http\r\n\r\n")
	} else {
		bw.WriteString("\r\nX-Forwarded-Proto: https\r\n\r\n")
	}
	return nil // errors surface at Flush
}

// headerValue drops what would end a header line early (the server
// rejects such values already; kept as a guard).
func headerValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	return v
}

// hopByHop reports the headers that concern one connection only (RFC 9110
// 7.6.1), in canonical form.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// forwarding reports the incoming forwarding headers the ingress replaces.
func forwarding(k string) bool {
	switch k {
	case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// teTrailers reports whether a TE header accepts trailers, the one value
// passed on.
func teTrailers(vv []string) bool {
	for _, v := range vv {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "trailers") {
				return true
			}
		}
	}
	return false
}

// connectionTokens lists the headers named in Connection, canonical; nil
// when there is no Connection header (the usual case: no allocation).
func connectionTokens(h http.Header) []string {
	vv := h["Connection"]
	if len(vv) == 0 {
		return nil
	}
	var out []string
	for _, v := range vv {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				out = append(out, textproto.CanonicalMIMEHeaderKey(tok))
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
