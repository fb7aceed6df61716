package ingress

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an instance that counts the connections it accepted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

func TestUpstreamTransport(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s", r.Method, b)
		case "/chunked":
			w.Write([]byte("part1 "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part2"))
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/big":
			io.WriteString(w, strings.Repeat("x", 1<<20))
		default:
			io.WriteString(w, "ok")
		}
	})
	addr := srv.Listener.Addr().String()
	tr := newUpstreamTransport()
	do := func(ctx context.Context, method, path string, body io.Reader, readAll bool) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
		if body == nil {
			req.Body = nil
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if !readAll {
			buf := make([]byte, 10)
			n, _ := resp.Body.Read(buf)
			return string(buf[:n]), nil
		}
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	bg := context.Background()
	steps := []struct {
		name      string
		run       func() (string, error)
		want      string
		wantErr   bool
		wantConns int64 // connections the instance has accepted so far
	}{
		{"first request dials", func() (string, error) { return do(bg, "GET", "/", nil, true) }, "ok", false, 1},
		{"a hundred more reuse the connection", func() (string, error) {
			for range 99 {
				if _, err := do(bg, "GET", "/", nil, true); err != nil {
					return "", err
				}
			}
			return do(bg, "GET", "/", nil, true)
		}, "ok", false, 1},
		{"chunked response, connection kept", func() (string, error) { return do(bg, "GET", "/chunked", nil, true) }, "part1 part2", false, 1},
		{"HEAD has no body, connection kept", func() (string, error) { return do(bg, "HEAD", "/", nil, true) }, "", false, 1},
		{"a request with a body goes through the fallback", func() (string, error) {
			return do(bg, "POST", "/echo", strings.NewReader("payload"), true)
		}, "POST payload", false, 2},
		{"Connection: close is not pooled", func() (string, error) { return do(bg, "GET", "/close", nil, true) }, "bye", false, 2},
		{"the next request dials again", func() (string, error) { return do(bg, "GET", "/", nil, true) }, "ok", false, 3},
		{"a body not read to its end closes the connection", func() (string, error) { return do(bg, "GET", "/big", nil, false) }, "xxxxxxxxxx", false, 3},
		{"so the next request dials", func() (string, error) { return do(bg, "GET", "/", nil, true) }, "ok", false, 4},
		{"a canceled request ends at once", func() (string, error) {
			ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := do(ctx, "GET", "/slow", nil, true)
			if time.Since(start) > 2*time.Second {
				return "", fmt.Errorf("took %s", time.Since(start))
			}
			return "", err
		}, "", true, 4},
		{"the instance closed its idle connections: sent again on a fresh one", func() (string, error) {
			srv.CloseClientConnections()
			time.Sleep(20 * time.Millisecond)
			return do(bg, "GET", "/", nil, true)
		}, "ok", false, 5},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := s.run()
			if (err != nil) != s.wantErr || got != s.want {
				t.Fatalf("got %q, %v; want %q (error %v)", got, err, s.want, s.wantErr)
			}
			if n := conns.Load(); n != s.wantConns {
				t.Fatalf("instance accepted %d connections, want %d", n, s.wantConns)
			}
		})
	}
	t.Run("idle connections to instances that left are closed", func(t *testing.T) {
		tr.keepOnly(map[string]bool{})
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if len(tr.idle) != 0 {
			t.Fatalf("idle pool = %v, want empty", tr.idle)
		}
	})
}
