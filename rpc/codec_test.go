package rpc

import (
	"io"
	"net/rpc"
	"net/rpc/jsonrpc"
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
