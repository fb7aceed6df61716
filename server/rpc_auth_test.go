package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
)

// rpcServer starts a server on a real RPC port, with a gossip key (and so
// a cluster secret) when key is set.
func rpcServer(t *testing.T, key []byte) *Server {
	t.Helper()
	s, err := New(Config{
		NodeName: "auth.global", Region: "global", Datacenter: "dc1", RPCAddr: freeAddr(t), NumSchedulers: 1,
		EncryptKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	waitFor(t, "leadership", func() bool { return s.IsLeader() })
	return s
}

func call(t *testing.T, s *Server, dc rpc.DialConfig, method string, args, reply any) error {
	t.Helper()
	pool := rpc.NewPool(dc)
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pool.Call(ctx, s.mux.Addr().String(), method, args, reply)
}

// TestServerCallsNeedAnAuthenticatedServer checks that a call only servers
// make (here System.GarbageCollect) is refused to clients and to servers
// that cannot prove their role.
func TestServerCallsNeedAnAuthenticatedServer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	secret, err := deriveClusterSecret(key)
	if err != nil {
		t.Fatal(err)
	}
	withSecret := rpcServer(t, key)
	noSecret := rpcServer(t, nil)
	cases := []struct {
		name    string
		srv     *Server
		dial    rpc.DialConfig
		wantErr string // "" = the call is served
	}{
		{"server proving the cluster secret", withSecret, rpc.DialConfig{Role: rpc.RoleServer, Secret: secret}, ""},
		{"client", withSecret, rpc.DialConfig{Role: rpc.RoleClient}, "Permission denied"},
		{"server with a wrong secret", withSecret, rpc.DialConfig{Role: rpc.RoleServer, Secret: []byte("guess")}, "wrong cluster secret"},
		{"server claiming without proof", withSecret, rpc.DialConfig{Role: rpc.RoleServer}, "wrong cluster secret"},
		{"server claim to a lone server without a secret", noSecret, rpc.DialConfig{Role: rpc.RoleServer}, "not a known server's address"},
		{"client of a cluster without a secret", noSecret, rpc.DialConfig{Role: rpc.RoleClient}, "Permission denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := call(t, tc.srv, tc.dial, "System.GarbageCollect", &structs.EmptyArgs{}, &structs.IndexReply{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("System.GarbageCollect: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("System.GarbageCollect: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestClientsMayOnlyMakeClientCallsAsTheirNode(t *testing.T) {
	s := rpcServer(t, nil)
	client := rpc.DialConfig{Role: rpc.RoleClient}
	auth := func(id, secret string) structs.NodeAuth { return structs.NodeAuth{AuthNodeID: id, SecretID: secret} }
	register := func(id, secret string) error {
		return call(t, s, client, "Node.Register", &structs.NodeRegisterArgs{Node: testNode(id, 1024), NodeAuth: auth(id, secret)}, &structs.HeartbeatReply{})
	}
	if err := register("n1", "secret-1"); err != nil {
		t.Fatalf("first registration: %v", err)
	}
	stored, _ := s.State().Snapshot().NodeByID("n1")
	if stored == nil || stored.Attributes[nodeSecretAttr] == "" || strings.Contains(stored.Attributes[nodeSecretAttr], "secret-1") {
		t.Fatalf("stored node keeps no hash of its secret (or the secret itself): %v", stored)
	}
	before := s.State().Snapshot().Index("jobs")
	cases := []struct {
		name    string
		method  string
		args    any
		wantErr string
	}{
		{"heartbeat with the node's secret", "Node.Heartbeat", &structs.NodeHeartbeatArgs{NodeID: "n1", NodeAuth: auth("n1", "secret-1")}, ""},
		{"heartbeat with a wrong secret", "Node.Heartbeat", &structs.NodeHeartbeatArgs{NodeID: "n1", NodeAuth: auth("n1", "guess")}, "wrong SecretID"},
		{"heartbeat without a secret", "Node.Heartbeat", &structs.NodeHeartbeatArgs{NodeID: "n1"}, "carries no node SecretID"},
		{"heartbeat for another node", "Node.Heartbeat", &structs.NodeHeartbeatArgs{NodeID: "n2", NodeAuth: auth("n1", "secret-1")}, "authenticates as node n1"},
		{"re-registration with another secret", "Node.Register", &structs.NodeRegisterArgs{Node: testNode("n1", 1024), NodeAuth: auth("n1", "other")}, "wrong SecretID"},
		{"job registration", "Job.Register", &structs.JobRegisterArgs{Job: testJob("web", 1, 128)}, "Permission denied: Job.Register may not be called by a client"},
		{"variable write", "Var.Apply", &structs.VarApplyArgs{Op: structs.VarOpSet}, "Permission denied"},
		{"template variable read with the node's secret", "Var.Read", &structs.VarReadArgs{Path: "app", QueryArgs: structs.QueryArgs{NodeAuth: auth("n1", "secret-1")}}, ""},
		{"template variable read without a secret", "Var.Read", &structs.VarReadArgs{Path: "app"}, "carries no node SecretID"},
		{"template service list with a wrong secret", "ServiceRegistration.List", &structs.ServiceListArgs{QueryArgs: structs.QueryArgs{NodeAuth: auth("n1", "guess")}}, "wrong SecretID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := call(t, s, client, tc.method, tc.args, &structs.HeartbeatReply{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("%s: %v, want an error with %q", tc.method, err, tc.wantErr)
			}
		})
	}
	if after := s.State().Snapshot().Index("jobs"); after != before {
		t.Fatalf("a refused call changed the jobs table (index %d -> %d)", before, after)
	}
}

func TestAuthorizeRPC(t *testing.T) {
	server := rpc.Peer{Role: rpc.RoleServer}
	client := rpc.Peer{Role: rpc.RoleClient}
	cases := []struct {
		name   string
		peer   rpc.Peer
		method string
		want   bool
	}{
		{"server forwards writes", server, "Job.Register", true},
		{"client heartbeats", client, "Node.Heartbeat", true},
		{"client registers services", client, "ServiceRegistration.Upsert", true},
		{"client asks for the leader", client, "Status.Leader", true},
		{"client may not register jobs", client, "Job.Register", false},
		{"client may not write variables", client, "Var.Apply", false},
		{"client reads variables for templates", client, "Var.Read", true},
		{"client lists services for templates", client, "ServiceRegistration.List", true},
		{"client may not collect garbage", client, "System.GarbageCollect", false},
		{"client may not drain nodes", client, "Node.UpdateDrain", false},
		{"another region's server pulls replication", rpc.Peer{Role: rpc.RoleRegion}, "Replication.Fetch", true},
		{"another region's server may not register jobs here", rpc.Peer{Role: rpc.RoleRegion}, "Job.Register", false},
		{"another region's server may not fetch keys", rpc.Peer{Role: rpc.RoleRegion}, "Keyring.Get", false},
		{"client may not pull replication", client, "Replication.Fetch", false},
		{"no role, nothing", rpc.Peer{}, "Status.Leader", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := authorizeRPC(tc.peer, tc.method); (err == nil) != tc.want {
				t.Fatalf("authorizeRPC(%+v, %s) = %v, want allowed=%v", tc.peer, tc.method, err, tc.want)
			}
		})
	}
}

// TestClientsFetchOnlyTheirOwnAllocations checks the calls a client
// watches its allocations with: Node.GetClientAllocs lists the node's own,
// and Alloc.GetAllocs hands out only allocations placed on the caller's
// node, each job once.
func TestClientsFetchOnlyTheirOwnAllocations(t *testing.T) {
	s := rpcServer(t, nil)
	client := rpc.DialConfig{Role: rpc.RoleClient}
	auth := func(id, secret string) structs.NodeAuth { return structs.NodeAuth{AuthNodeID: id, SecretID: secret} }
	for _, id := range []string{"n1", "n2"} {
		args := &structs.NodeRegisterArgs{Node: testNode(id, 1024), NodeAuth: auth(id, "secret-"+id)}
		if err := call(t, s, client, "Node.Register", args, &structs.HeartbeatReply{}); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 2, 600)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an allocation on each node", func() bool { return len(liveAllocs(t, s, "web")) == 2 })
	byNode := map[string]string{}
	for _, a := range liveAllocs(t, s, "web") {
		byNode[a.NodeID] = a.ID
	}
	if len(byNode) != 2 {
		t.Fatalf("allocations by node %v, want one on each", byNode)
	}

	var list structs.NodeClientAllocsReply
	if err := call(t, s, client, "Node.GetClientAllocs", &structs.NodeAllocsArgs{NodeID: "n1", NodeAuth: auth("n1", "secret-n1")}, &list); err != nil {
		t.Fatal(err)
	}
	if _, ok := list.Allocs[byNode["n1"]]; len(list.Allocs) != 1 || !ok || list.Index == 0 {
		t.Fatalf("n1's list = %+v, want its one allocation %s", list, byNode["n1"])
	}
	var got structs.AllocsGetReply
	if err := call(t, s, client, "Alloc.GetAllocs", &structs.AllocsGetArgs{AllocIDs: []string{byNode["n1"]}, NodeAuth: auth("n1", "secret-n1")}, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Allocs) != 1 || got.Allocs[0].Job != nil || len(got.Jobs) != 1 || len(got.AllocJob) != 1 || got.AllocJob[0] != 0 {
		t.Fatalf("n1's allocation came back as %+v", got)
	}

	cases := []struct {
		name, method string
		args         any
		wantErr      string
	}{
		{"list with a wrong secret", "Node.GetClientAllocs", &structs.NodeAllocsArgs{NodeID: "n1", NodeAuth: auth("n1", "guess")}, "wrong SecretID"},
		{"list of another node", "Node.GetClientAllocs", &structs.NodeAllocsArgs{NodeID: "n2", NodeAuth: auth("n1", "secret-n1")}, "authenticates as node n1"},
		{"fetch with a wrong secret", "Alloc.GetAllocs", &structs.AllocsGetArgs{AllocIDs: []string{byNode["n1"]}, NodeAuth: auth("n1", "guess")}, "wrong SecretID"},
		{"fetch of another node's allocation", "Alloc.GetAllocs", &structs.AllocsGetArgs{AllocIDs: []string{byNode["n2"]}, NodeAuth: auth("n1", "secret-n1")}, "is not on node n1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := call(t, s, client, tc.method, tc.args, &structs.AllocsGetReply{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("%s: %v, want an error with %q", tc.method, err, tc.wantErr)
			}
		})
	}
}

// TestNotStartedServerKnowsNoLeader checks what the RPC port, which answers
// while Raft is still restoring a large state, sees of a server not yet
// started: no leadership, no leader, no peers (a restarted server under
// thousands of reconnecting clients crashed on a Raft not yet set up).
func TestNotStartedServerKnowsNoLeader(t *testing.T) {
	s := &Server{}
	if s.IsLeader() {
		t.Error("a server not started says it leads")
	}
	if l := s.Leader(); l != "" {
		t.Errorf("a server not started names leader %q", l)
	}
	if _, err := s.Peers(); err == nil {
		t.Error("a server not started lists peers")
	}
}

// BenchmarkCheckNodeSecret measures the SecretID check every client call
// makes, for 1,000 nodes calling in turn.
func BenchmarkCheckNodeSecret(b *testing.B) {
	s := testServer(b, time.Minute)
	const nodes = 1000
	ids := make([]string, nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%04d", i)
		n := withSecretHash(testNode(ids[i], 1024), "secret-"+ids[i])
		if err := s.State().NodeRegister(uint64(1000+i), &structs.NodeRegisterRequest{Node: n, Time: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[i%nodes]
		if err := s.checkNodeSecret(&structs.NodeAuth{AuthNodeID: id, SecretID: "secret-" + id}, id, false); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiedSecretsFollowTheNode checks that a SecretID once verified
// stops being accepted when the node's stored secret changes or the node
// is removed, and that a node registered anew is checked against its new
// secret.
func TestVerifiedSecretsFollowTheNode(t *testing.T) {
	register := func(s *Server, id, secret string) {
		t.Helper()
		req := &structs.NodeRegisterRequest{Node: withSecretHash(testNode(id, 1024), secret), Time: 1}
		if _, err := s.raftApply(structs.NodeRegisterRequestType, req); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(s *Server, id string) {
		t.Helper()
		if _, err := s.raftApply(structs.GCRequestType, &structs.GCRequest{NodeIDs: []string{id}}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		change func(s *Server)
		secret string
		// wantErr is "" when the call is accepted.
		wantErr string
	}{
		{"unchanged node keeps its secret", func(*Server) {}, "secret-1", ""},
		{"unchanged node refuses another secret", func(*Server) {}, "secret-2", "wrong SecretID"},
		{"other node written, secret still good", func(s *Server) { register(s, "n2", "other") }, "secret-1", ""},
		{"node's secret changed", func(s *Server) { register(s, "n1", "secret-2") }, "secret-1", "wrong SecretID"},
		{"node's new secret accepted", func(s *Server) { register(s, "n1", "secret-2") }, "secret-2", ""},
		{"node removed", func(s *Server) { remove(s, "n1") }, "secret-1", "not found"},
		{"node removed and registered anew", func(s *Server) { remove(s, "n1"); register(s, "n1", "secret-3") }, "secret-1", "wrong SecretID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Minute)
			register(s, "n1", "secret-1")
			auth := func(secret string) *structs.NodeAuth { return &structs.NodeAuth{AuthNodeID: "n1", SecretID: secret} }
			if err := s.checkNodeSecret(auth("secret-1"), "n1", false); err != nil {
				t.Fatalf("first check: %v", err)
			}
			if _, ok := s.secrets.lookup("n1"); !ok {
				t.Fatal("verified secret not remembered")
			}
			tc.change(s)
			err := s.checkNodeSecret(auth(tc.secret), "n1", false)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("check: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}
