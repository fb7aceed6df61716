package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// echo is a test endpoint.
type echo struct{}

type EchoArgs struct{ Msg string }
type EchoReply struct{ Msg string }

// Secret stands for a call only servers may make.
func (echo) Secret(args *EchoArgs, reply *EchoReply) error {
	reply.Msg = "the secret"
	return nil
}

func (echo) Say(args *EchoArgs, reply *EchoReply) error {
	if args.Msg == "fail" {
		return errors.New("told to fail")
	}
	reply.Msg = "echo: " + args.Msg
	return nil
}

// syncBuffer is a log sink safe for the mux's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testSecret is the cluster secret of the test muxes.
var testSecret = []byte("test cluster secret")

// serverDial dials as a server that knows the cluster secret.
var serverDial = DialConfig{Role: RoleServer, Secret: testSecret}

// testSecurity lets in servers that prove the secret and any client, and
// keeps Echo.Secret for servers.
func testSecurity() Security {
	return Security{
		Authenticate: func(ci ConnInfo) (Peer, error) {
			switch {
			case ci.Hello.Role == RoleServer && ValidProof(testSecret, ci.Nonce, ci.Hello.Proof):
				return Peer{Role: RoleServer}, nil
			case ci.Hello.Role == RoleClient:
				return Peer{Role: RoleClient}, nil
			}
			return Peer{}, errors.New("wrong cluster secret")
		},
		Authorize: func(p Peer, method string) error {
			if method == "Echo.Secret" && p.Role != RoleServer {
				return errors.New("Permission denied: servers only")
			}
			return nil
		},
		Dial: serverDial,
	}
}

func startMux(t testing.TB) (*Mux, *syncBuffer) {
	t.Helper()
	return startMuxWith(t, testSecurity())
}

func startMuxWith(t testing.TB, sec Security) (*Mux, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	m, err := Listen("127.0.0.1:0", nil, slog.New(slog.NewTextHandler(logs, nil)), sec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.RPC().Register("Echo", echo{}); err != nil {
		t.Fatal(err)
	}
	return m, logs
}

func TestCalls(t *testing.T) {
	m, _ := startMux(t)
	pool := NewPool(serverDial)
	defer pool.Close()
	cases := []struct {
		name      string
		method    string
		msg       string
		want      string
		wantErr   string
		wantRemot bool
	}{
		{"answer", "Echo.Say", "hi", "echo: hi", "", false},
		{"remote error keeps its text", "Echo.Say", "fail", "", "told to fail", true},
		{"unknown method", "Echo.Nope", "x", "", "can't find method", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var reply EchoReply
			err := pool.Call(context.Background(), m.Addr().String(), tc.method, &EchoArgs{Msg: tc.msg}, &reply)
			if tc.wantErr == "" {
				if err != nil || reply.Msg != tc.want {
					t.Fatalf("got %q, %v; want %q", reply.Msg, err, tc.want)
				}
				return
			}
			var remote *RemoteError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.As(err, &remote) != tc.wantRemot {
				t.Fatalf("got error %v, want one containing %q (remote=%v)", err, tc.wantErr, tc.wantRemot)
			}
		})
	}
}

func TestConcurrentCallsShareOneSession(t *testing.T) {
	m, _ := startMux(t)
	pool := NewPool(serverDial)
	defer pool.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var reply EchoReply
			errs <- pool.Call(context.Background(), m.Addr().String(), "Echo.Say", &EchoArgs{Msg: "x"}, &reply)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(pool.peers); n != 1 {
		t.Fatalf("sessions = %d, want 1", n)
	}
}

func TestGarbageIsLoggedAndClosed(t *testing.T) {
	m, logs := startMux(t)
	conn, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after garbage")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection not closed on garbage")
	}
	if !strings.Contains(logs.String(), "unrecognized RPC protocol byte") {
		t.Fatalf("no clear log line for garbage: %s", logs.String())
	}
	// The port keeps serving real peers.
	var reply EchoReply
	if err := NewPool(serverDial).Call(context.Background(), m.Addr().String(), "Echo.Say", &EchoArgs{Msg: "ok"}, &reply); err != nil {
		t.Fatal(err)
	}
}

func TestRaftLayerCarriesRaftConnections(t *testing.T) {
	m, _ := startMux(t)
	layer := m.RaftLayer()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := layer.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	conn, err := layer.Dial(raft.ServerAddress(m.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("raft side read %q, %v", buf, err)
		}
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("raft connection not handed to the raft layer")
	}
}

func TestCallToDeadPeerFailsAndTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = NewPool(serverDial).Call(ctx, addr, "Echo.Say", &EchoArgs{}, &EchoReply{})
	var remote *RemoteError
	if err == nil || errors.As(err, &remote) {
		t.Fatalf("call to a dead peer: %v, want a transport error", err)
	}
}
