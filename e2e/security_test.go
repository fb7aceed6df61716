package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/yamux"

	roamrpc "github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
)

// Gossip keys of the tests (base64 of 32 bytes).
const (
	testGossipKey   = "zkoTPu6yfbMIsU1J3yVw/C1R9rNYmE3YkAp5ayrHhks="
	secondGossipKey = "K7LWfBbXzR7Q8ueHqoM8b4ZPm7dKs5uTBu/1Jy+7oHY="
	wrongGossipKey  = "8gTyzS4bo3jsK5lnR1oWBbixKHrUXbvz0NwYQUp6nE4="
)

// runRoam runs the CLI in dir with env added and fails the test on a
// non-zero exit.
func runRoam(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(roamBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("roam %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// logHas waits until an agent's log holds want.
func logHas(t *testing.T, p *agentProc, want string, timeout time.Duration) {
	t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for {
		out, _ := os.ReadFile(filepath.Join(p.dir, "agent.log"))
		last = string(out)
		if strings.Contains(last, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's log has no %q:\n%s", p.name, want, tail(last, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tlsBlock is an agent's tls block for the given certificate files.
func tlsBlock(ca, cert, key string) string {
	return fmt.Sprintf(`tls {
  http = true
  rpc  = true
  ca_file   = %q
  cert_file = %q
  key_file  = %q
  verify_server_hostname = true
  verify_https_client    = true
}
`, ca, cert, key)
}

func TestMutualTLSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	certs, rogue := t.TempDir(), t.TempDir()
	runRoam(t, certs, nil, "tls", "ca", "create")
	for _, role := range []string{"-server", "-client", "-cli"} {
		runRoam(t, certs, nil, "tls", "cert", "create", role)
	}
	runRoam(t, rogue, nil, "tls", "ca", "create")
	runRoam(t, rogue, nil, "tls", "cert", "create", "-client")
	ca := filepath.Join(certs, "nomad-agent-ca.pem")
	cliTLS := &api.TLSConfig{CACert: ca, ClientCert: filepath.Join(certs, "global-cli-nomad.pem"), ClientKey: filepath.Join(certs, "global-cli-nomad-key.pem")}

	c := startClusterWith(t, clusterOptions{
		apiTLS: cliTLS,
		agentConf: func(p *agentProc) string {
			role := "client"
			if strings.HasPrefix(p.name, "server") {
				role = "server"
			}
			return tlsBlock(ca, filepath.Join(certs, "global-"+role+"-nomad.pem"), filepath.Join(certs, "global-"+role+"-nomad-key.pem"))
		},
	})

	t.Run("jobs run over mutual TLS, through a follower and a client agent", func(t *testing.T) {
		leader := c.leader(t, c.servers[0])
		follower := c.other(leader)
		job := shellJob("tls-job", "service", 1, `echo over-tls > "$NOMAD_ALLOC_DIR/hello"; exec sleep 1000`)
		if _, _, err := follower.client(t).Jobs().Register(job, nil); err != nil {
			t.Fatalf("register through a follower: %v", err)
		}
		stubs := waitRunning(t, c.clients[0].client(t), "tls-job", 1)
		// The API client reaches the node itself over HTTPS for files.
		api0 := c.servers[0].client(t)
		alloc, _, err := api0.Allocations().Info(stubs[0].ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 20*time.Second, "the task's file over HTTPS", func() bool {
			r, err := api0.AllocFS().Cat(alloc, "alloc/hello", nil)
			if err != nil {
				return false
			}
			defer r.Close()
			b, _ := io.ReadAll(r)
			return strings.TrimSpace(string(b)) == "over-tls"
		})
	})

	t.Run("the CLI with NOMAD_ and ROAM_ TLS variables", func(t *testing.T) {
		out := runRoam(t, certs, []string{"NOMAD_ADDR=" + c.servers[0].httpURL, "NOMAD_CACERT=" + ca,
			"ROAM_CLIENT_CERT=" + cliTLS.ClientCert, "NOMAD_CLIENT_KEY=" + cliTLS.ClientKey}, "node", "status")
		if strings.Count(out, "ready") != 2 {
			t.Fatalf("node status over TLS:\n%s", out)
		}
	})

	t.Run("plain HTTP to the HTTPS port is refused", func(t *testing.T) {
		plainURL := strings.Replace(c.servers[0].httpURL, "https://", "http://", 1)
		resp, err := http.Get(plainURL + "/v1/agent/self")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("plain HTTP answered %d", resp.StatusCode)
			}
		}
		logHas(t, c.servers[0], "refused plain-text connection to the HTTPS port", 10*time.Second)
	})

	t.Run("an API client without a certificate is refused", func(t *testing.T) {
		noCert, err := api.NewClient(&api.Config{Address: c.servers[0].httpURL, TLSConfig: &api.TLSConfig{CACert: ca}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := noCert.Agent().Self(); err == nil {
			t.Fatal("request without a client certificate was served (verify_https_client)")
		}
		logHas(t, c.servers[0], "refused HTTPS connection: TLS handshake failed", 10*time.Second)
	})

	t.Run("plain RPC to the TLS RPC port is refused", func(t *testing.T) {
		conn, err := net.Dial("tcp", c.servers[0].rpcAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = conn.Write([]byte{'M'})
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := conn.Read(make([]byte, 64)); err == nil {
			t.Fatalf("plain RPC got %d bytes back", n)
		}
		logHas(t, c.servers[0], "plain-text connection to an RPC port that requires TLS", 10*time.Second)
	})

	t.Run("SIGHUP reloads the certificates", func(t *testing.T) {
		fresh := t.TempDir()
		runRoam(t, fresh, nil, "tls", "cert", "create", "-server", "-additional-dnsname", "reloaded.example",
			"-ca", ca, "-key", filepath.Join(certs, "nomad-agent-ca-key.pem"))
		for _, f := range []string{"global-server-nomad.pem", "global-server-nomad-key.pem"} {
			raw, err := os.ReadFile(filepath.Join(fresh, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(certs, f), raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s := c.servers[0]
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		logHas(t, s, "reloaded TLS certificates", 10*time.Second)
		cert, err := tls.LoadX509KeyPair(cliTLS.ClientCert, cliTLS.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := tls.Dial("tcp", strings.TrimPrefix(s.httpURL, "https://"), &tls.Config{
			InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		served := conn.ConnectionState().PeerCertificates[0].DNSNames
		if !slices.Contains(served, "reloaded.example") {
			t.Fatalf("after SIGHUP the server presents %v", served)
		}
		if _, err := s.client(t).Agent().Self(); err != nil {
			t.Fatalf("API after reload: %v", err)
		}
	})

	t.Run("a client with a certificate from another CA cannot join", func(t *testing.T) {
		var rpcAddrs []string
		for _, s := range c.servers {
			rpcAddrs = append(rpcAddrs, fmt.Sprintf("%q", s.rpcAddr()))
		}
		// The intruder trusts the cluster's CA but holds a certificate of
		// its own CA.
		intruder := newAgentProc(t, "intruder", fmt.Sprintf("client {\n  enabled = true\n  servers = [%s]\n  network_interface = \"lo\"\n}\n", strings.Join(rpcAddrs, ", "))+
			tlsBlock(ca, filepath.Join(rogue, "global-client-nomad.pem"), filepath.Join(rogue, "global-client-nomad-key.pem")))
		intruder.start(t)
		t.Cleanup(intruder.stop)
		waitUntil(t, 30*time.Second, "a server to log why it refused the intruder", func() bool {
			for _, s := range c.servers {
				out, _ := os.ReadFile(filepath.Join(s.dir, "agent.log"))
				for _, line := range strings.Split(string(out), "\n") {
					if strings.Contains(line, "refused RPC connection: TLS handshake failed") &&
						strings.Contains(line, "certificate signed by unknown authority") {
						return true
					}
				}
			}
			return false
		})
		logHas(t, intruder, "no server reachable", 30*time.Second)
		nodes, _, err := c.servers[0].client(t).Nodes().List(nil)
		if err != nil || len(nodes) != 2 {
			t.Fatalf("nodes = %d (%v), want the two legitimate clients only", len(nodes), err)
		}
	})
}

func TestGossipEncryption(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startClusterWith(t, clusterOptions{serverBlock: `  encrypt = "` + testGossipKey + `"`})
	ring := filepath.Join(c.servers[0].dir, "data", "server", "serf.keyring")
	info, err := os.Stat(ring)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("persisted keyring %s: %v %v", ring, info, err)
	}
	env := []string{"NOMAD_ADDR=" + c.servers[0].httpURL}
	dir := t.TempDir()
	if out := runRoam(t, dir, env, "operator", "gossip", "keyring", "-list"); !strings.Contains(out, "Key\n"+testGossipKey+"\n") {
		t.Fatalf("keyring list:\n%s", out)
	}
	// Every server holds the key.
	onAll := func(key string) bool {
		resp, err := c.servers[0].client(t).Agent().ListKeys()
		return err == nil && resp.NumNodes == 3 && resp.Keys[key] == 3
	}
	if !onAll(testGossipKey) {
		t.Fatal("the configured key is not on every server")
	}
	runRoam(t, dir, env, "operator", "gossip", "keyring", "install", secondGossipKey)
	runRoam(t, dir, env, "operator", "gossip", "keyring", "-use", secondGossipKey)
	runRoam(t, dir, env, "operator", "gossip", "keyring", "remove", testGossipKey)
	out := runRoam(t, dir, env, "operator", "gossip", "keyring", "list")
	if strings.Contains(out, testGossipKey) || !strings.Contains(out, secondGossipKey) || !onAll(secondGossipKey) {
		t.Fatalf("keyring after rotation:\n%s", out)
	}
	if raw, _ := os.ReadFile(ring); !strings.Contains(string(raw), secondGossipKey) || strings.Contains(string(raw), testGossipKey) {
		t.Fatalf("rotation not persisted: %s", raw)
	}

	wrong := newAgentProc(t, "wrong-key", fmt.Sprintf("server {\n  enabled = true\n  bootstrap_expect = 3\n  encrypt = %q\n  server_join {\n    retry_join = [%q]\n    retry_interval = \"1s\"\n  }\n}\n",
		wrongGossipKey, c.servers[0].serfAddr()))
	wrong.start(t)
	t.Cleanup(wrong.stop)
	logHas(t, c.servers[0], "No installed keys could decrypt the message", 30*time.Second)
	members, err := c.servers[0].client(t).Agent().Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members.Members {
		if strings.HasPrefix(m.Name, "wrong-key") {
			t.Fatalf("a server with the wrong key joined: %+v", m)
		}
	}
	if len(members.Members) != 3 {
		t.Fatalf("members = %d, want 3", len(members.Members))
	}
}

// TestRawRPCRefused is the attack of issue 16: the RPC port used to serve
// Keyring.Get (the variables' root key) and Job.Register to anyone. Root
// keys now travel only through Raft, and a call without credentials, or
// with a role it cannot prove, is refused and changes nothing.
func TestRawRPCRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	srv := newAgentProc(t, "lone", "server {\n  enabled = true\n  bootstrap_expect = 1\n}\n")
	srv.start(t)
	t.Cleanup(srv.stop)
	client := srv.client(t)
	waitUntil(t, 30*time.Second, "a leader", func() bool {
		leader, err := client.Status().Leader()
		return err == nil && leader != ""
	})
	job := &api.Job{ID: ptr("intruder"), Name: ptr("intruder"), Datacenters: []string{"*"},
		TaskGroups: []*api.TaskGroup{{Name: ptr("g"), Tasks: []*api.Task{{Name: "t", Driver: "raw_exec",
			Config: map[string]any{"command": "/bin/true"}}}}}}
	args := &structs.JobRegisterArgs{Job: job}
	t.Run("raw session, as before authentication existed", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.rpcAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = conn.Write([]byte{'M'})
		conf := yamux.DefaultConfig()
		conf.LogOutput = io.Discard
		session, err := yamux.Client(conn, conf)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		var reply structs.JobRegisterReply
		stream, err := session.Open()
		if err == nil {
			done := make(chan error, 1)
			go func() {
				done <- rpc.NewClientWithCodec(jsonrpc.NewClientCodec(stream)).Call("Job.Register", args, &reply)
			}()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = fmt.Errorf("no answer")
			}
		}
		if err == nil {
			t.Fatalf("raw Job.Register answered: %+v", reply)
		}
		logHas(t, srv, "refused RPC connection", 10*time.Second)
	})

	cases := []struct {
		name    string
		dial    roamrpc.DialConfig
		wantErr string
	}{
		{"as a client", roamrpc.DialConfig{Role: roamrpc.RoleClient}, "Permission denied"},
		{"as a server, without proof", roamrpc.DialConfig{Role: roamrpc.RoleServer}, "server authentication failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool := roamrpc.NewPool(tc.dial)
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var reply structs.JobRegisterReply
			err := pool.Call(ctx, srv.rpcAddr(), "Job.Register", args, &reply)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Job.Register %s: %v", tc.name, err)
			}
		})
	}
	logHas(t, srv, "refused RPC call", 10*time.Second)
	if jobs, _, err := client.Jobs().List(nil); err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after refused calls: %v, %v", jobs, err)
	}
}
