package ingress

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestForward checks both fast paths for requests without a body (the
// serving loop of the plain-HTTP port, and forward under net/http's
// server, as on the HTTPS port) against what a reverse proxy owes:
// hop-by-hop headers dropped both ways (those named in Connection too),
// forwarding headers replaced, end-to-end ones kept, HEAD answered
// without a body, a stream of unknown length passed on as it comes,
// trailers passed on, 502 when no instance answers.
func TestForward(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/headers":
			w.Header().Set("Connection", "X-Hop")
			w.Header().Set("X-Hop", "drop me")
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Header().Set("X-End", "kept")
			for _, k := range []string{"X-Custom", "X-Secret", "Proxy-Authorization", "Te", "X-Forwarded-For", "X-Forwarded-Proto", "Forwarded"} {
				io.WriteString(w, k+"="+strings.Join(r.Header.Values(k), ",")+";")
			}
			io.WriteString(w, "query="+r.URL.RawQuery)
		case "/stream":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
			io.WriteString(w, "second\n")
			w.Header().Set("X-Sum", "42")
		default:
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}
	}))
	t.Cleanup(up.Close)
	p := NewProxy()
	p.Update([]*api.ServiceRegistration{
		reg("default", "web", "a", up.Listener.Addr().String(), 1, "ingress.host=web.test"),
		reg("default", "dead", "d", "127.0.0.1:1", 1, "ingress.host=dead.test"),
	}, nil, nil)
	for _, front := range fronts(t, p) {
		t.Run(front.name, func(t *testing.T) { testForward(t, front.url) })
	}
}

func testForward(t *testing.T, front string) {
	do := func(method, host, path string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(method, front+path, nil)
		req.Host = host
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	t.Run("request headers", func(t *testing.T) {
		resp := do("GET", "web.test", "/headers?a=1&b=%20", map[string]string{"X-Custom": "yes", "Connection": "X-Secret", "X-Secret": "no",
			"Proxy-Authorization": "Basic x", "Te": "trailers, deflate", "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "Forwarded": "for=6.6.6.6"})
		b, _ := io.ReadAll(resp.Body)
		want := "X-Custom=yes;X-Secret=;Proxy-Authorization=;Te=trailers;X-Forwarded-For=127.0.0.1;X-Forwarded-Proto=http;Forwarded=;query=a=1&b=%20"
		if string(b) != want {
			t.Fatalf("instance saw\n%s\nwant\n%s", b, want)
		}
	})
	t.Run("response headers", func(t *testing.T) {
		resp := do("GET", "web.test", "/headers", nil)
		if resp.Header.Get("X-End") != "kept" || resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
			t.Fatalf("response headers %v", resp.Header)
		}
	})
	t.Run("HEAD has no body", func(t *testing.T) {
		resp := do("HEAD", "web.test", "/", nil)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != 5 {
			t.Fatalf("status %d, body %q, length %d", resp.StatusCode, b, resp.ContentLength)
		}
	})
	t.Run("a stream passes as it comes, with its trailers", func(t *testing.T) {
		start := time.Now()
		resp := do("GET", "web.test", "/stream", nil)
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Fatalf("first part came after %s: held back until the end", took)
		}
		io.ReadAll(br)
		if resp.Trailer.Get("X-Sum") != "42" {
			t.Fatalf("trailers %v", resp.Trailer)
		}
	})
	t.Run("no instance answers", func(t *testing.T) {
		if resp := do("GET", "dead.test", "/", nil); resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
	})
}

// front is one way the ingress serves a proxy: its URL.
type front struct{ name, url string }

// fronts serves p both ways the agent does: the serving loop (the
// plain-HTTP port) and net/http's server alone (the HTTPS port, here
// without TLS).
func fronts(t *testing.T, p *Proxy) []front {
	handler := httptest.NewServer(p)
	t.Cleanup(handler.Close)
	return []front{{"loop", serveLoop(t, p, &http.Server{})}, {"net/http", handler.URL}}
}

// serveLoop serves p with a Server (fallback: srv) on a loopback port
// until the test ends; it returns the base URL.
func serveLoop(t testing.TB, p *Proxy, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(p, srv)
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
