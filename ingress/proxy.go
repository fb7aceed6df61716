// Package ingress is Roam's built-in HTTP entry point: a reverse proxy that
// routes requests by host and path to the instances of the services that
// ask for it with tags (`ingress.host=app.example.com`,
// `ingress.path=/api`, or the jobspec's `service { ingress {} }` block),
// round-robin with retries on another instance when one cannot be
// reached, WebSockets included. A Watcher follows the service catalogue
// with blocking queries and swaps in a rebuilt routing table whole, so
// requests never see a half-made one; Certs follows the TLS certificates
// kept in variables the same way and picks one per host by SNI. Server
// serves the plain-HTTP port: a loop of its own for the bodiless
// HTTP/1.x requests most clients send, net/http's server (with the Proxy
// as its Handler) for the rest.
package ingress

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/nomad/api"
)

// maxAttempts bounds the instances one request is tried on.
const maxAttempts = 3

// retryAfter is the Retry-After (seconds) of a 503 for a route with no
// instance up.
const retryAfter = "5"

// Proxy answers requests from the current routing table.
type Proxy struct {
	table     atomic.Pointer[Table]
	transport *upstreamTransport
	buffers   *bufferPool
}

// NewProxy returns a proxy with an empty routing table.
func NewProxy() *Proxy {
	p := &Proxy{transport: newUpstreamTransport(), buffers: &bufferPool{}}
	p.table.Store(&Table{})
	return p
}

// newTransport is the connection pool for requests with a body and
// upgrades: kept-alive connections reused across requests (many idle ones
// per instance, for parallel clients), no environment proxy, no
// compression added (bodies pass as the instance sent them), addresses are
// IP:port so no DNS.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0, // no overall limit
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
		ReadBufferSize:        16 << 10,
		WriteBufferSize:       16 << 10,
	}
}

// Table is the routing table in use.
func (p *Proxy) Table() *Table { return p.table.Load() }

// Update rebuilds the routing table from registrations and swaps it in;
// jobIndex holds the CreateIndex of their jobs by JobKey (nil: none), the
// age of each service's claim on its host and path; idle are claims with
// no instance (their requests get 503), which keep their route over newer
// ones as any claim does.
func (p *Proxy) Update(regs []*api.ServiceRegistration, jobIndex map[string]uint64, idle []RouteKey) *Table {
	t := buildTable(regs, jobIndex, idle, p.table.Load(), p.routeProxy)
	p.table.Store(t)
	addrs := map[string]bool{}
	for _, r := range t.routes {
		for _, in := range r.Instances {
			addrs[in.Address] = true
		}
	}
	p.transport.keepOnly(addrs)
	return t
}

// routeProxy makes a route's reverse proxy: requests go to its instances
// round-robin, the next one tried when one cannot be reached.
func (p *Proxy) routeProxy(r *Route) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = r.Instances[r.next.Add(1)%uint64(len(r.Instances))].Address
			pr.Out.Host = pr.In.Host
		},
		Transport:  &retryTransport{route: r, base: p.transport},
		BufferPool: p.buffers,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			http.Error(w, "ingress: no instance answered: "+err.Error(), http.StatusBadGateway)
		},
	}
}

// ServeHTTP routes one request: without a body, on the fast path
// (forward); with one, or an upgrade, through the route's ReverseProxy.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := p.table.Load().lookup(r.Host, r.URL.Path)
	if route == nil {
		http.Error(w, fmt.Sprintf("ingress: no route for %s%s", r.Host, r.URL.Path), http.StatusNotFound)
		return
	}
	if len(route.Instances) == 0 {
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, fmt.Sprintf("ingress: no instance of %s/%s is up", route.Namespace, route.Service), http.StatusServiceUnavailable)
		route.stats.record(0, true)
		return
	}
	start := time.Now()
	if canForward(r) {
		status := p.forward(w, r, route)
		route.stats.record(time.Since(start), status >= 500)
		return
	}
	rec := recorders.Get().(*statusRecorder)
	rec.ResponseWriter, rec.status = w, http.StatusOK
	route.reverse.ServeHTTP(rec, r)
	failed := rec.status >= 500
	rec.ResponseWriter = nil
	recorders.Put(rec)
	route.stats.record(time.Since(start), failed)
}

// retryTransport sends a request to the instance the route's proxy chose
// and, when that one cannot be reached (and the request can be sent
// again), to the route's next instances in turn.
type retryTransport struct {
	route *Route
	base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil || req.Context().Err() != nil {
		return resp, err
	}
	ups := t.route.Instances
	first := 0
	for i, in := range ups {
		if in.Address == req.URL.Host {
			first = i
		}
	}
	for i := 1; i < min(len(ups), maxAttempts); i++ {
		out := req.Clone(req.Context())
		out.URL.Host = ups[(first+i)%len(ups)].Address
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				break // the body is spent: cannot resend
			}
			body, gerr := req.GetBody()
			if gerr != nil {
				break
			}
			out.Body = body
		}
		if resp, err = t.base.RoundTrip(out); err == nil || req.Context().Err() != nil {
			return resp, err
		}
	}
	return nil, err
}

// bufferPool reuses the buffers responses are copied through.
type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.pool.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.pool.Put(&buf) }

// recorders reuses statusRecorders across requests.
var recorders = sync.Pool{New: func() any { return &statusRecorder{} }}

// statusRecorder remembers the status written, for the route's counters;
// it passes Flush and Hijack (WebSockets) through via Unwrap.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
