package rpc

import (
	"context"
	"io"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/roam-project/roam/internal/codec"
)

// TestSessionsInEitherEncoding calls through a session in msgpack, as Roam
// dials, and through one in the JSON-RPC of earlier versions, which the
// port still serves.
func TestSessionsInEitherEncoding(t *testing.T) {
	m, _ := startMux(t)
	cases := []struct {
		name     string
		proto    byte
		newCodec func(io.ReadWriteCloser) rpc.ClientCodec
	}{
		{"msgpack", protoRPCMsgpack, codec.NewClientCodec},
		{"json of earlier versions", protoRPC, jsonrpc.NewClientCodec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := dial(m.Addr().String(), tc.proto, time.Second, serverDial)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Time{})
			conf := yamux.DefaultConfig()
			conf.LogOutput = io.Discard
			session, err := yamux.Client(conn, conf)
			if err != nil {
				t.Fatal(err)
			}
			defer session.Close()
			stream, err := session.Open()
			if err != nil {
				t.Fatal(err)
			}
			client := rpc.NewClientWithCodec(tc.newCodec(stream))
			defer client.Close()
			var reply EchoReply
			if err := client.Call("Echo.Say", &EchoArgs{Msg: "hi"}, &reply); err != nil || reply.Msg != "echo: hi" {
				t.Fatalf("reply %q, %v", reply.Msg, err)
			}
			err = client.Call("Echo.Say", &EchoArgs{Msg: "fail"}, &reply)
			if _, ok := err.(rpc.ServerError); !ok || err.Error() != "told to fail" {
				t.Fatalf("error %v (%T), want the endpoint's", err, err)
			}
		})
	}
}

// legacyServer answers as a Roam of an earlier version would: JSON-RPC
// after the protocol byte 'M' and the handshake; a connection that opens
// with any other byte is closed at once.
func legacyServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := rpc.NewServer()
	if err := srv.RegisterName("Echo", echo{}); err != nil {
		t.Fatal(err)
	}
	authenticate := testSecurity().Authenticate
	serve := func(conn net.Conn) {
		if proto, err := readByte(conn); err != nil || proto != protoRPC {
			conn.Close()
			return
		}
		if _, err := challenge(conn, nil, authenticate); err != nil {
			conn.Close()
			return
		}
		conf := yamux.DefaultConfig()
		conf.LogOutput = io.Discard
		session, err := yamux.Server(conn, conf)
		if err != nil {
			conn.Close()
			return
		}
		for {
			stream, err := session.Accept()
			if err != nil {
				return
			}
			go srv.ServeCodec(jsonrpc.NewServerCodec(stream))
		}
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(conn)
		}
	}()
	return ln.Addr().String()
}

// TestPoolSpeaksJSONToEarlierVersions dials a current agent in msgpack and
// one of an earlier version, which refuses msgpack's protocol byte, in
// JSON-RPC, so that calls work across a rolling upgrade.
func TestPoolSpeaksJSONToEarlierVersions(t *testing.T) {
	m, _ := startMux(t)
	cases := []struct {
		name        string
		addr        string
		wantMsgpack bool
	}{
		{"current version", m.Addr().String(), true},
		{"earlier version", legacyServer(t), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, newCodec, err := dialRPC(tc.addr, serverDial)
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
			isMsgpack := reflect.ValueOf(newCodec).Pointer() == reflect.ValueOf(codec.NewClientCodec).Pointer()
			if isMsgpack != tc.wantMsgpack {
				t.Errorf("dialed in msgpack: %v, want %v", isMsgpack, tc.wantMsgpack)
			}
			pool := NewPool(serverDial)
			defer pool.Close()
			var reply EchoReply
			if err := pool.Call(context.Background(), tc.addr, "Echo.Say", &EchoArgs{Msg: "hi"}, &reply); err != nil || reply.Msg != "echo: hi" {
				t.Fatalf("reply %q, %v", reply.Msg, err)
			}
		})
	}
}
