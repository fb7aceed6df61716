package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/nomad/api"
)

// TestClientEndpointsThroughServer runs a server-only agent and a
// client-only agent: the server answers /v1/client requests about the
// client's node and allocations by forwarding them (dynamic node
// metadata, node identity, exec over a websocket); dynamic metadata and
// the identity outlive a client restart, and metadata drives placement.
func TestClientEndpointsThroughServer(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	srv := newAgentProc(t, "server", "server {\n  enabled = true\n  bootstrap_expect = 1\n}\n")
	srv.start(t)
	cl := newAgentProc(t, "client", fmt.Sprintf(`enable_debug = true
client {
  enabled = true
  servers = [%q]
  network_interface = "lo"
  meta {
    rack = "r1"
  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, srv.rpcAddr()))
	cl.start(t)
	t.Cleanup(func() {
		_, _, _ = srv.client(t).Jobs().Deregister("meta-placed", true, nil)
		cl.stop()
		srv.stop()
	})
	sc := srv.client(t)
	var nodeID string
	waitUntil(t, 60*time.Second, "the client's node", func() bool {
		nodes, _, err := sc.Nodes().List(nil)
		if err != nil || len(nodes) != 1 || nodes[0].Status != "ready" {
			return false
		}
		nodeID = nodes[0].ID
		return true
	})

	meta, err := sc.Nodes().Meta().Read(nodeID, nil)
	if err != nil {
		t.Fatalf("metadata read through the server: %v", err)
	}
	// The agent endpoints naming the node reach the client agent: its
	// profile (it has enable_debug, the server has not) and its log.
	heap, err := sc.Agent().Lookup("heap", api.PprofOptions{NodeID: nodeID}, nil)
	if err != nil || len(heap) == 0 {
		t.Fatalf("the client's heap profile through the server: %d bytes, %v", len(heap), err)
	}
	if _, err := sc.Agent().Lookup("heap", api.PprofOptions{}, nil); err == nil {
		t.Fatal("the server, without enable_debug, gave its own profile")
	}
	stop := make(chan struct{})
	frames, errs := sc.Agent().Monitor(stop, &api.QueryOptions{Params: map[string]string{"node_id": nodeID, "log_level": "debug"}})
	go func() { // the client logs at debug level as it heartbeats
		for i := 0; i < 50; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				_, _ = sc.Nodes().Meta().Read(nodeID, nil)
			}
		}
	}()
	select {
	case f := <-frames:
		if f == nil || len(f.Data) == 0 {
			t.Fatalf("the client's monitor through the server sent %+v", f)
		}
	case err := <-errs:
		t.Fatalf("the client's monitor through the server: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no log line from the client's monitor through the server")
	}
	close(stop)

	if meta.Static["rack"] != "r1" || meta.Meta["connect.log_level"] != "info" {
		t.Fatalf("metadata = %+v", meta)
	}
	applied, err := sc.Nodes().Meta().Apply(&api.NodeMetaApplyRequest{NodeID: nodeID,
		Meta: map[string]*string{"rack": ptr("r2"), "connect.log_level": nil}}, nil)
	if err != nil {
		t.Fatalf("metadata apply through the server: %v", err)
	}
	if applied.Meta["rack"] != "r2" || applied.Static["rack"] != "r1" {
		t.Fatalf("applied metadata = %+v", applied)
	}
	if _, ok := applied.Meta["connect.log_level"]; ok {
		t.Fatalf("connect.log_level still set: %v", applied.Meta)
	}
	if _, err := sc.Nodes().Meta().Read("8d2b5a7e-0000-0000-0000-000000000000", nil); err == nil || !strings.Contains(err.Error(), "Unknown node") {
		t.Fatalf("metadata of an unknown node: err = %v", err)
	}

	// The node's identity, read and renewed through the server.
	ident, err := sc.Nodes().Identity().Get(&api.NodeIdentityGetRequest{NodeID: nodeID}, nil)
	if err != nil {
		t.Fatalf("node identity through the server: %v", err)
	}
	if ident.Claims["nomad_node_id"] != nodeID || ident.Claims["sub"] != "node:global:default:"+nodeID+":default" {
		t.Fatalf("identity claims = %v", ident.Claims)
	}
	first := ident.Claims["jti"]
	if _, err := sc.Nodes().Identity().Renew(&api.NodeIdentityRenewRequest{NodeID: nodeID}, nil); err != nil {
		t.Fatalf("renew the node identity through the server: %v", err)
	}
	var renewed any
	waitUntil(t, 30*time.Second, "a renewed node identity", func() bool {
		ident, err := sc.Nodes().Identity().Get(&api.NodeIdentityGetRequest{NodeID: nodeID}, nil)
		if err != nil {
			return false
		}
		renewed = ident.Claims["jti"]
		return renewed != first
	})

	cl.stop()
	cl.start(t)
	waitUntil(t, 60*time.Second, "the restarted client to answer with its metadata", func() bool {
		m, err := sc.Nodes().Meta().Read(nodeID, nil)
		return err == nil && m.Dynamic["rack"] != nil && *m.Dynamic["rack"] == "r2" && m.Meta["rack"] == "r2"
	})
	if n, _, err := sc.Nodes().Info(nodeID, nil); err != nil || n.Meta["rack"] != "r2" {
		t.Fatalf("node after the client restart: %v, %v", n.Meta, err)
	}
	if ident, err := sc.Nodes().Identity().Get(&api.NodeIdentityGetRequest{NodeID: nodeID}, nil); err != nil || ident.Claims["jti"] != renewed {
		t.Fatalf("identity after the client restart: %v (%v), want the renewed one kept", ident, err)
	}

	// The scheduler sees the dynamic metadata.
	job := shellJob("meta-placed", "service", 1, "exec sleep 300")
	job.Constrain(api.NewConstraint("${meta.rack}", "=", "r2"))
	if _, _, err := sc.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	allocs := waitRunning(t, sc, "meta-placed", 1)

	cases := []struct {
		name, allocID, command string
		// want is the output, or the error the socket closes with.
		want string
	}{
		{name: "running allocation", allocID: allocs[0].ID, command: `["/bin/echo","hello"]`, want: "hello\n"},
		{name: "unknown allocation", allocID: "8d2b5a7e-0000-0000-0000-000000000000", command: `["/bin/true"]`,
			want: `Unknown allocation "8d2b5a7e-0000-0000-0000-000000000000"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := execThrough(t, srv.httpURL, tc.allocID, tc.command); got != tc.want {
				t.Fatalf("exec through the server: %q, want %q", got, tc.want)
			}
		})
	}
}

// execThrough runs command in the allocation's task "main" over the exec
// websocket of the agent at base, and returns its output, or the error
// the socket closed with.
func execThrough(t *testing.T, base, allocID, command string) string {
	t.Helper()
	u, _ := url.Parse(base)
	u.Scheme = "ws"
	u.Path = "/v1/client/allocation/" + allocID + "/exec"
	u.RawQuery = url.Values{"task": {"main"}, "command": {command}, "tty": {"false"}}.Encode()
	conn, resp, err := websocket.DefaultDialer.Dial(u.String(), http.Header{})
	if err != nil {
		t.Fatalf("dial exec: %v (%v)", err, resp)
	}
	defer conn.Close()
	var out strings.Builder
	for {
		_, data, err := conn.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok && ce.Text != "" {
			return ce.Text
		}
		if err != nil {
			return out.String()
		}
		var frame api.ExecStreamingOutput
		if err := json.Unmarshal(data, &frame); err != nil {
			t.Fatalf("exec frame %q: %v", data, err)
		}
		if frame.Stdout != nil {
			out.Write(frame.Stdout.Data)
		}
		if frame.Exited {
			return out.String()
		}
	}
}
