package ingress

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// bigBody is the body of loopInstance's /big and /bigchunked: more than
// the buffers on the way hold.
var bigBody = strings.Repeat("0123456789abcdef", 64<<10)

// loopInstance is an instance for the serving loop's tests: / answers
// "hello" with a length, /chunked "ab" in two chunks and a trailer,
// /big and /bigchunked a megabyte with a length or in chunks (and the
// same trailer), /echo the
// method and body, /eof a body ended by closing the connection.
func loopInstance(t *testing.T) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
			w.Header().Set("X-Sum", "42")
		case "/big":
			w.Header().Set("Content-Length", itoa(len(bigBody)))
			io.WriteString(w, bigBody)
		case "/bigchunked":
			w.Header().Set("Trailer", "X-Sum")
			for i := 0; i < len(bigBody); i += 100 << 10 {
				io.WriteString(w, bigBody[i:min(i+100<<10, len(bigBody))])
				w.(http.Flusher).Flush()
			}
			w.Header().Set("X-Sum", "42")
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			io.WriteString(w, r.Method+" "+string(b))
		case "/eof":
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			io.WriteString(conn, "HTTP/1.1 200 OK\r\n\r\nuntil close")
			conn.Close()
		default:
			io.WriteString(w, "hello")
		}
	}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// reply is a response a test expects: status, body, and a header that
// must have a value ("Name: value") or be absent ("Name:").
type reply struct {
	status int
	body   string
	header string
}

const getRoot = "GET / HTTP/1.1\r\nHost: web.test\r\n\r\n"

// TestServeLoop sends raw requests to a Server and checks the answers, in
// order, and whether the connection stays open (another request is
// answered on it) or is closed.
func TestServeLoop(t *testing.T) {
	p := NewProxy()
	p.Update([]*api.ServiceRegistration{reg("default", "web", "a", loopInstance(t), 1, "ingress.host=web.test")}, nil, nil)
	addr := strings.TrimPrefix(serveLoop(t, p, &http.Server{MaxHeaderBytes: 32 << 10}), "http://")
	big := "X-Big: " + strings.Repeat("x", 12<<10) + "\r\n"
	cases := []struct {
		name   string
		send   string
		method []string // of each request sent, when not all GET
		want   []reply
		open   bool
	}{
		{"pipelined requests answered in order", getRoot + "GET /chunked HTTP/1.1\r\nHost: web.test\r\n\r\n" + getRoot, nil,
			[]reply{{200, "hello", "Content-Length: 5"}, {200, "ab", "Transfer-Encoding: chunked"}, {200, "hello", ""}}, true},
		{"HTTP/1.0 client closes by default", "GET / HTTP/1.0\r\nHost: web.test\r\n\r\n", nil, []reply{{200, "hello", ""}}, false},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nHost: web.test\r\nConnection: keep-alive\r\n\r\n", nil,
			[]reply{{200, "hello", "Connection: keep-alive"}}, true},
		{"HTTP/1.0 client gets a chunked body plain, then the close", "GET /chunked HTTP/1.0\r\nHost: web.test\r\nConnection: keep-alive\r\n\r\n", nil,
			[]reply{{200, "ab", "Transfer-Encoding:"}}, false},
		{"Connection: close", "GET / HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n", nil, []reply{{200, "hello", "Connection: close"}}, false},
		{"HEAD has no body", "HEAD / HTTP/1.1\r\nHost: web.test\r\n\r\n", []string{"HEAD"}, []reply{{200, "", "Content-Length: 5"}}, true},
		{"unknown host", "GET /x HTTP/1.1\r\nHost: nope.test\r\n\r\n", nil, []reply{{404, "ingress: no route for nope.test/x\n", ""}}, true},
		{"escaped path", "GET /%7Ex HTTP/1.1\r\nHost: nope.test\r\n\r\n", nil, []reply{{404, "ingress: no route for nope.test/~x\n", ""}}, true},
		{"a large body with a length", "GET /big HTTP/1.1\r\nHost: web.test\r\n\r\n", nil, []reply{{200, bigBody, ""}}, true},
		{"a large chunked body", "GET /bigchunked HTTP/1.1\r\nHost: web.test\r\n\r\n", nil, []reply{{200, bigBody, "Transfer-Encoding: chunked"}}, true},
		{"a body read to the instance's close", "GET /eof HTTP/1.1\r\nHost: web.test\r\n\r\n", nil, []reply{{200, "until close", "Connection: close"}}, false},
		{"bad request line: net/http's 400", "GET / HTTP/1.1 x\r\nHost: web.test\r\n\r\n", nil, []reply{{400, "", ""}}, false},
		{"HTTP/1.1 without Host: net/http's 400", "GET / HTTP/1.1\r\n\r\n", nil, []reply{{400, "", ""}}, false},
		{"a head over the loop's buffer goes to net/http", "GET / HTTP/1.1\r\nHost: web.test\r\n" + big + "\r\n", nil, []reply{{200, "hello", ""}}, true},
		{"a head over net/http's limit", "GET / HTTP/1.1\r\nHost: web.test\r\n" + strings.Repeat(big, 4) + "\r\n", nil, []reply{{431, "", ""}}, false},
		{"a body goes to net/http, the connection with it", getRoot + "POST /echo HTTP/1.1\r\nHost: web.test\r\nContent-Length: 3\r\n\r\nabc" + getRoot,
			[]string{"GET", "POST", "GET"}, []reply{{200, "hello", ""}, {200, "POST abc", ""}, {200, "hello", ""}}, true},
		{"Expect: 100-continue", "POST /echo HTTP/1.1\r\nHost: web.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", []string{"POST"},
			[]reply{{200, "POST hi", ""}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			for i, want := range tc.want {
				method := "GET"
				if tc.method != nil {
					method = tc.method[i]
				}
				checkReply(t, br, method, want)
			}
			if tc.open {
				io.WriteString(conn, getRoot)
				checkReply(t, br, "GET", reply{200, "hello", ""})
				return
			}
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("connection open (read: %v), want it closed", err)
			}
		})
	}
}

// checkReply reads a response (past 1xx ones) and checks it against want.
func checkReply(t *testing.T, br *bufio.Reader, method string, want reply) {
	t.Helper()
	var resp *http.Response
	for {
		var err error
		if resp, err = http.ReadResponse(br, &http.Request{Method: method}); err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		if resp.StatusCode >= 200 {
			break
		}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	if resp.StatusCode != want.status || (want.status == 200 || want.status == 404) && string(body) != want.body {
		t.Fatalf("status %d body %.100q (%d bytes), want %d %.100q (%d bytes)", resp.StatusCode, body, len(body), want.status, want.body, len(want.body))
	}
	if name, value, ok := strings.Cut(want.header, ":"); ok {
		got := strings.Join(resp.Header.Values(name), ",")
		switch name {
		case "Connection": // ReadResponse takes "close" out into Close
			if resp.Close {
				got = strings.Join(append(resp.Header.Values(name), "close"), ",")
			}
		case "Transfer-Encoding":
			got = strings.Join(resp.TransferEncoding, ",")
		case "Content-Length":
			got = ""
			if resp.ContentLength >= 0 {
				got = itoa(int(resp.ContentLength))
			}
		}
		if got != strings.TrimSpace(value) {
			t.Fatalf("%s: %q, want %q", name, got, strings.TrimSpace(value))
		}
	}
	if resp.TransferEncoding != nil && resp.Trailer.Get("X-Sum") != "42" { // the instance's chunked answers all have it
		t.Fatalf("trailers %v, want X-Sum: 42", resp.Trailer)
	}
}

// TestServeLoopTimeouts: a head that does not come whole in
// ReadHeaderTimeout, or a connection idle for IdleTimeout, is closed; and
// Shutdown closes idle connections and returns.
func TestServeLoopTimeouts(t *testing.T) {
	p := NewProxy()
	p.Update([]*api.ServiceRegistration{reg("default", "web", "a", loopInstance(t), 1, "ingress.host=web.test")}, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(p, &http.Server{ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	cases := []struct {
		name, send string
		replies    int
	}{
		{"a head not all sent", "GET / HTTP/1.1\r\nHost: web.test\r\n", 0},
		{"an idle connection", getRoot, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, tc.send)
			start := time.Now()
			conn.SetDeadline(start.Add(10 * time.Second))
			br := bufio.NewReader(conn)
			for range tc.replies {
				checkReply(t, br, "GET", reply{200, "hello", ""})
			}
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Fatalf("read %v after %s, want the server to close", err, time.Since(start))
			}
		})
	}
	t.Run("shutdown closes idle connections", func(t *testing.T) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, getRoot)
		br := bufio.NewReader(conn)
		checkReply(t, br, "GET", reply{200, "hello", ""})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve returned %v", err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("read %v, want the connection closed", err)
		}
	})
}
