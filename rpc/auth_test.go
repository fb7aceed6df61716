package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/yamux"
)

func TestHandshakeDecidesWhatAPeerMayCall(t *testing.T) {
	m, logs := startMux(t)
	cases := []struct {
		name       string
		dial       DialConfig
		method     string
		wantDial   string // error when the connection itself is refused
		wantRemote string // error the call returns
	}{
		{"server with the secret calls anything", serverDial, "Echo.Secret", "", ""},
		{"client calls what clients may", DialConfig{Role: RoleClient}, "Echo.Say", "", ""},
		{"client refused a server call, with the reason", DialConfig{Role: RoleClient}, "Echo.Secret", "", "Permission denied: servers only"},
		{"server with a wrong secret is refused", DialConfig{Role: RoleServer, Secret: []byte("wrong")}, "Echo.Say", "wrong cluster secret", ""},
		{"server without a secret is refused", DialConfig{Role: RoleServer}, "Echo.Say", "wrong cluster secret", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool := NewPool(tc.dial)
			defer pool.Close()
			var reply EchoReply
			err := pool.Call(context.Background(), m.Addr().String(), tc.method, &EchoArgs{Msg: "x"}, &reply)
			var remote *RemoteError
			switch {
			case tc.wantDial != "":
				if err == nil || errors.As(err, &remote) || !strings.Contains(err.Error(), tc.wantDial) {
					t.Fatalf("call: %v, want the connection refused with %q", err, tc.wantDial)
				}
				// The server logs the refusal after the dialer has read it.
				if !logsSoon(logs, "refused RPC connection") {
					t.Fatalf("no log line for the refusal: %s", logs.String())
				}
			case tc.wantRemote != "":
				if !errors.As(err, &remote) || remote.Msg != tc.wantRemote {
					t.Fatalf("call: %v, want remote error %q", err, tc.wantRemote)
				}
				if !strings.Contains(logs.String(), "refused RPC call") {
					t.Fatalf("no log line for the refused call: %s", logs.String())
				}
			case err != nil:
				t.Fatalf("call: %v", err)
			}
		})
	}
}

// logsSoon waits up to five seconds for a log line containing want.
func logsSoon(logs *syncBuffer, want string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestSessionWithoutHandshakeIsRefused speaks the protocol as it was before
// authentication: the protocol byte, then straight into yamux.
func TestSessionWithoutHandshakeIsRefused(t *testing.T) {
	m, _ := startMux(t)
	conn, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{protoRPC}); err != nil {
		t.Fatal(err)
	}
	conf := yamux.DefaultConfig()
	conf.LogOutput = io.Discard
	session, err := yamux.Client(conn, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	stream, err := session.Open()
	if err == nil {
		client := rpc.NewClientWithCodec(jsonrpc.NewClientCodec(stream))
		done := make(chan error, 1)
		go func() { done <- client.Call("Echo.Secret", &EchoArgs{}, &EchoReply{}) }()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("call without handshake neither answered nor refused")
		}
	}
	if err == nil {
		t.Fatal("a session without the handshake was served")
	}
}

func TestRaftNeedsAServer(t *testing.T) {
	m, _ := startMux(t)
	cases := []struct {
		name   string
		dial   DialConfig
		wantOK bool
	}{
		{"server", serverDial, true},
		{"client", DialConfig{Role: RoleClient}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			layer := newRaftLayer(m.Addr(), tc.dial)
			conn, err := layer.Dial(raft.ServerAddress(m.Addr().String()), time.Second)
			if tc.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				conn.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), "only servers may open Raft connections") {
				t.Fatalf("raft dial as %s: %v, want refused", tc.name, err)
			}
		})
	}
}

func TestProofIsBoundToSecretAndNonce(t *testing.T) {
	nonce := []byte("nonce-1")
	proof := Proof([]byte("s"), nonce)
	cases := []struct {
		name   string
		secret []byte
		nonce  []byte
		proof  string
		want   bool
	}{
		{"same secret and nonce", []byte("s"), nonce, proof, true},
		{"other secret", []byte("t"), nonce, proof, false},
		{"other nonce (replay)", []byte("s"), []byte("nonce-2"), proof, false},
		{"no secret", nil, nonce, Proof(nil, nonce), false},
		{"not hex", []byte("s"), nonce, "zz", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidProof(tc.secret, tc.nonce, tc.proof); got != tc.want {
				t.Fatalf("ValidProof = %v, want %v", got, tc.want)
			}
		})
	}
}
