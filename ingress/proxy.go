// Package ingress is Roam's built-in HTTP entry point: a reverse proxy that
// routes requests by host and path to the healthy instances of the services
// that ask for it with tags (`ingress.host=app.example.com`,
// `ingress.path=/api`), round-robin with retries on another instance when
// one cannot be reached, WebSockets included. A Watcher follows the service
// catalogue with blocking queries and swaps in a rebuilt routing table
// whole, so requests never see a half-made one.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"
)

// maxAttempts bounds the instances one request is tried on.
const maxAttempts = 3

type routeKey struct{}

// Proxy answers requests from the current routing table.
type Proxy struct {
	table   atomic.Pointer[Table]
	reverse *httputil.ReverseProxy
}

// NewProxy returns a proxy with an empty routing table.
func NewProxy() *Proxy {
	p := &Proxy{}
	p.table.Store(&Table{})
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 64
	p.reverse = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "upstream.invalid" // chosen by the transport
			pr.Out.Host = pr.In.Host
		},
		Transport:  &retryTransport{base: base},
		BufferPool: &bufferPool{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "ingress: no instance answered: "+err.Error(), http.StatusBadGateway)
		},
	}
	return p
}

// Table is the routing table in use.
func (p *Proxy) Table() *Table { return p.table.Load() }

// swap replaces the routing table.
func (p *Proxy) swap(t *Table) { p.table.Store(t) }

// ServeHTTP routes one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := p.table.Load().lookup(r.Host, r.URL.Path)
	if route == nil {
		http.Error(w, fmt.Sprintf("ingress: no route for %s%s", r.Host, r.URL.Path), http.StatusNotFound)
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if len(route.healthy()) == 0 {
		http.Error(rec, fmt.Sprintf("ingress: service %s has no healthy instance", route.Service), http.StatusServiceUnavailable)
	} else {
		p.reverse.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, route)))
	}
	route.stats.record(time.Since(start), rec.status >= 500)
}

// retryTransport sends a request to the route's healthy instances in turn,
// moving to the next when one cannot be reached (and the request can be
// sent again).
type retryTransport struct {
	base http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route, _ := req.Context().Value(routeKey{}).(*Route)
	if route == nil {
		return nil, errors.New("no route")
	}
	ups := route.healthy()
	if len(ups) == 0 {
		return nil, errors.New("no healthy instance")
	}
	first := route.next.Add(1)
	var lastErr error
	for i := range min(len(ups), maxAttempts) {
		out := req.Clone(req.Context())
		out.URL.Host = ups[(first+uint64(i))%uint64(len(ups))].Address
		if i > 0 {
			if req.Body != nil && req.Body != http.NoBody {
				if req.GetBody == nil {
					break // the body is spent: cannot resend
				}
				body, err := req.GetBody()
				if err != nil {
					break
				}
				out.Body = body
			}
		}
		resp, err := t.base.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if req.Context().Err() != nil {
			break
		}
	}
	return nil, lastErr
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
