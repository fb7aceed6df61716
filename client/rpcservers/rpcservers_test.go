package rpcservers

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
)

// fakeNodeEndpoint stands in for a server's Node endpoint: these tests
// check the client's fail-over and server learning, not the server.
type fakeNodeEndpoint struct {
	servers []string
}

func (f *fakeNodeEndpoint) Heartbeat(args *structs.NodeHeartbeatArgs, reply *structs.HeartbeatReply) error {
	reply.TTL = 7 * time.Second
	reply.Servers = f.servers
	return nil
}

func TestFailsOverToALiveServerAndLearnsTheList(t *testing.T) {
	// The fake server lets clients in and calls through: these tests are
	// about fail-over, the server's checks have their own tests.
	sec := rpc.Security{
		Authenticate: func(ci rpc.ConnInfo) (rpc.Peer, error) { return rpc.Peer{Role: ci.Hello.Role}, nil },
		Authorize:    func(rpc.Peer, string) error { return nil },
	}
	mux, err := rpc.Listen("127.0.0.1:0", nil, slog.New(slog.NewTextHandler(io.Discard, nil)), sec)
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	live := mux.Addr().String()
	if err := mux.RPC().Register("Node", &fakeNodeEndpoint{servers: []string{live, "10.255.255.1:4647"}}); err != nil {
		t.Fatal(err)
	}
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	set, err := New([]string{deadAddr, live}, rpc.DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	ttl, err := set.Heartbeat("node-1")
	if err != nil {
		t.Fatalf("heartbeat with one dead server: %v", err)
	}
	if ttl != 7*time.Second {
		t.Fatalf("ttl = %v", ttl)
	}
	got := set.Servers()
	if len(got) != 2 || got[0] != live {
		t.Fatalf("learnt servers %v, want the list the server reported", got)
	}
}

func TestDefaultPort(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"bare host", "10.0.0.1", "10.0.0.1:4647"},
		{"host and port", "10.0.0.1:5000", "10.0.0.1:5000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := New([]string{tc.in}, rpc.DialConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if got := set.Servers()[0]; got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNoServersIsAnError(t *testing.T) {
	if _, err := New(nil, rpc.DialConfig{}); err == nil {
		t.Fatal("a client with no servers must be refused")
	}
}
