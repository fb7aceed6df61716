package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// agentProc is one roam agent process of a multi-process cluster, which a
// test can kill and start again on the same data dir.
type agentProc struct {
	name    string
	dir     string
	ports   []int
	conf    string
	cmd     *exec.Cmd
	log     *os.File
	httpURL string
	// tls is how API clients reach an agent whose HTTP API is HTTPS.
	tls *api.TLSConfig
}

func newAgentProc(t testing.TB, name, body string) *agentProc {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &agentProc{name: name, dir: dir, ports: freePorts(t, 3)}
	p.httpURL = fmt.Sprintf("http://127.0.0.1:%d", p.ports[0])
	p.conf = fmt.Sprintf(`name = %q
data_dir = %q
bind_addr = "127.0.0.1"
log_level = "DEBUG"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
%s`, name, filepath.Join(dir, "data"), p.ports[0], p.ports[1], p.ports[2], body)
	return p
}

func (p *agentProc) rpcAddr() string  { return fmt.Sprintf("127.0.0.1:%d", p.ports[1]) }
func (p *agentProc) serfAddr() string { return fmt.Sprintf("127.0.0.1:%d", p.ports[2]) }

func (p *agentProc) start(t testing.TB) {
	t.Helper()
	confPath := filepath.Join(p.dir, "agent.hcl")
	if err := os.WriteFile(confPath, []byte(p.conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.OpenFile(filepath.Join(p.dir, "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.log = logFile
	p.cmd = exec.Command(roamBin, "agent", "-config", confPath)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (p *agentProc) kill() {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.log.Close()
}

// stop ends the process gracefully.
func (p *agentProc) stop() {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.log.Close()
}

func (p *agentProc) client(t testing.TB) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: p.httpURL, TLSConfig: p.tls})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cluster is three servers and two clients on loopback.
type cluster struct {
	servers []*agentProc
	clients []*agentProc
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startClusterWith(t, clusterOptions{})
}

// clusterOptions add settings to every agent of a cluster.
type clusterOptions struct {
	// serverBlock goes inside each server's `server` block.
	serverBlock string
	// agentConf returns more top-level settings for an agent (a tls block
	// naming its certificates).
	agentConf func(p *agentProc) string
	// apiTLS is set on every agent's API client (HTTPS).
	apiTLS *api.TLSConfig
}

func startClusterWith(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	c := &cluster{}
	extra := func(p *agentProc) {
		if o.apiTLS != nil {
			p.httpURL = strings.Replace(p.httpURL, "http://", "https://", 1)
			p.tls = o.apiTLS
		}
		if o.agentConf != nil {
			p.conf += o.agentConf(p)
		}
	}
	for i := 0; i < 3; i++ {
		s := newAgentProc(t, fmt.Sprintf("server%d", i), "")
		extra(s)
		c.servers = append(c.servers, s)
	}
	var serfAddrs, rpcAddrs []string
	for _, s := range c.servers {
		serfAddrs = append(serfAddrs, fmt.Sprintf("%q", s.serfAddr()))
		rpcAddrs = append(rpcAddrs, fmt.Sprintf("%q", s.rpcAddr()))
	}
	for _, s := range c.servers {
		s.conf += fmt.Sprintf(`server {
  enabled          = true
  bootstrap_expect = 3
  server_join {
    retry_join     = [%s]
    retry_interval = "1s"
  }
%s
}
`, strings.Join(serfAddrs, ", "), o.serverBlock)
		s.start(t)
	}
	for i := 0; i < 2; i++ {
		cl := newAgentProc(t, fmt.Sprintf("client%d", i), fmt.Sprintf(`client {
  enabled = true
  servers = [%s]
  network_interface = "lo"
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, strings.Join(rpcAddrs, ", ")))
		extra(cl)
		cl.start(t)
		c.clients = append(c.clients, cl)
	}
	t.Cleanup(func() {
		c.stopAllJobs(t)
		for _, p := range append(c.clients, c.servers...) {
			p.stop()
			if t.Failed() {
				out, _ := os.ReadFile(filepath.Join(p.dir, "agent.log"))
				t.Logf("%s log:\n%s", p.name, tail(string(out), 40))
			}
		}
	})
	api0 := c.servers[0].client(t)
	waitUntil(t, 60*time.Second, "a leader and two ready clients", func() bool {
		leader, err := api0.Status().Leader()
		if err != nil || leader == "" {
			return false
		}
		nodes, _, err := api0.Nodes().List(nil)
		if err != nil {
			return false
		}
		ready := 0
		for _, n := range nodes {
			if n.Status == "ready" {
				ready++
			}
		}
		return ready == 2
	})
	return c
}

// stopAllJobs stops every job so that no task outlives the test: client
// agents leave their tasks running when they stop, by design.
func (c *cluster) stopAllJobs(t testing.TB) {
	live := c.other(nil)
	if live == nil {
		return
	}
	client := live.client(t)
	jobs, _, err := client.Jobs().List(nil)
	if err != nil {
		t.Logf("list jobs for clean-up: %v", err)
		return
	}
	for _, j := range jobs {
		if _, _, err := client.Jobs().Deregister(j.ID, false, nil); err != nil {
			t.Logf("clean-up: stop job %s: %v", j.ID, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		allocs, _, err := client.Allocations().List(nil)
		if err == nil && countStatus(allocs, "running")+countStatus(allocs, "pending") == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	allocs, _, _ := client.Allocations().List(nil)
	for _, a := range allocs {
		t.Logf("clean-up: alloc %s of %s is %s/%s", a.ID[:8], a.JobID, a.DesiredStatus, a.ClientStatus)
	}
	t.Logf("clean-up: tasks still running after stopping every job")
}

// leader returns the server process that leads, asking a live server.
func (c *cluster) leader(t testing.TB, ask *agentProc) *agentProc {
	t.Helper()
	var leader *agentProc
	waitUntil(t, 30*time.Second, "a leader", func() bool {
		addr, err := ask.client(t).Status().Leader()
		if err != nil {
			return false
		}
		for _, s := range c.servers {
			if s.rpcAddr() == addr && s.cmd.ProcessState == nil {
				leader = s
				return true
			}
		}
		return false
	})
	return leader
}

func (c *cluster) other(than *agentProc) *agentProc {
	for _, s := range c.servers {
		if s != than && s.cmd.ProcessState == nil {
			return s
		}
	}
	return nil
}

func waitRunning(t *testing.T, client *api.Client, jobID string, n int) []*api.AllocationListStub {
	t.Helper()
	var allocs []*api.AllocationListStub
	waitUntil(t, 60*time.Second, fmt.Sprintf("%d running allocs of %s", n, jobID), func() bool {
		var err error
		allocs, _, err = client.Jobs().Allocations(jobID, false, nil)
		return err == nil && countStatus(allocs, "running") == n
	})
	return allocs
}

func TestClusterSurvivesLeaderCrashAndFullRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startCluster(t)
	first := c.servers[0].client(t)
	if _, _, err := first.Jobs().Register(shellJob("before", "service", 2, "exec sleep 1000"), nil); err != nil {
		t.Fatalf("register through server0: %v", err)
	}
	waitRunning(t, first, "before", 2)
	if _, err := first.Namespaces().Register(&api.Namespace{Name: "team", Description: "replicated"}, nil); err != nil {
		t.Fatalf("register a namespace through server0: %v", err)
	}

	leader := c.leader(t, c.servers[0])
	t.Logf("leader is %s; killing it", leader.name)
	killedAt := time.Now()
	leader.kill()
	survivor := c.other(leader)
	newLeader := c.leader(t, survivor)
	if newLeader == leader {
		t.Fatal("the killed server is still reported as leader")
	}
	t.Logf("new leader %s after %s", newLeader.name, time.Since(killedAt).Round(time.Millisecond))
	sc := survivor.client(t)
	if _, _, err := sc.Jobs().Info("before", nil); err != nil {
		t.Fatalf("committed job lost with the leader: %v", err)
	}
	if _, _, err := sc.Jobs().Register(shellJob("after", "service", 1, "exec sleep 1000"), nil); err != nil {
		t.Fatalf("register after fail-over: %v", err)
	}
	waitRunning(t, sc, "after", 1)

	leader.start(t)
	waitUntil(t, 60*time.Second, "the restarted server to catch up", func() bool {
		jobs, _, err := leader.client(t).Jobs().List(&api.QueryOptions{AllowStale: true})
		return err == nil && len(jobs) == 2
	})

	for _, s := range c.servers {
		s.stop()
	}
	for _, s := range c.servers {
		s.start(t)
	}
	again := c.servers[1].client(t)
	c.leader(t, c.servers[1])
	for _, id := range []string{"before", "after"} {
		waitUntil(t, 30*time.Second, "job "+id+" after a full restart", func() bool {
			_, _, err := again.Jobs().Info(id, nil)
			return err == nil
		})
	}
	waitRunning(t, again, "before", 2)
	for _, s := range c.servers {
		waitUntil(t, 30*time.Second, "namespace team on "+s.name+" after a full restart", func() bool {
			ns, _, err := s.client(t).Namespaces().Info("team", &api.QueryOptions{AllowStale: true})
			return err == nil && ns.Description == "replicated"
		})
	}
}

func TestClientRestartKeepsTasksRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startCluster(t)
	sc := c.servers[0].client(t)
	job := shellJob("pids", "service", 2, `echo $$ > "$NOMAD_ALLOC_DIR/pid"; exec sleep 1000`)
	if _, _, err := sc.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	allocs := waitRunning(t, sc, "pids", 2)
	// A client agent answers cluster questions by asking the leader.
	viaClient, _, err := c.clients[0].client(t).Jobs().Info("pids", nil)
	if err != nil || *viaClient.ID != "pids" {
		t.Fatalf("job read through a client agent: %v", err)
	}
	pidsBefore := map[string]string{}
	for _, stub := range allocs {
		alloc, _, err := sc.Allocations().Info(stub.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 20*time.Second, "the task's pid file", func() bool {
			r, err := sc.AllocFS().Cat(alloc, "alloc/pid", nil)
			if err != nil {
				return false
			}
			defer r.Close()
			b := make([]byte, 32)
			n, _ := r.Read(b)
			pidsBefore[stub.ID] = strings.TrimSpace(string(b[:n]))
			return pidsBefore[stub.ID] != ""
		})
	}
	for _, cl := range c.clients {
		cl.kill()
	}
	for id, pid := range pidsBefore {
		if err := syscall.Kill(atoi(t, pid), 0); err != nil {
			t.Fatalf("task of alloc %s (pid %s) died with its client: %v", id, pid, err)
		}
	}
	for _, cl := range c.clients {
		cl.start(t)
	}
	waitUntil(t, 60*time.Second, "clients back", func() bool {
		nodes, _, err := sc.Nodes().List(nil)
		if err != nil {
			return false
		}
		ready := 0
		for _, n := range nodes {
			if n.Status == "ready" {
				ready++
			}
		}
		return ready == 2
	})
	after := waitRunning(t, sc, "pids", 2)
	for _, stub := range after {
		if _, ok := pidsBefore[stub.ID]; !ok {
			t.Fatalf("alloc %s is new: the client restart replaced its allocations", stub.ID)
		}
	}
	for id, pid := range pidsBefore {
		if err := syscall.Kill(atoi(t, pid), 0); err != nil {
			t.Fatalf("task of alloc %s (pid %s) is gone after the client restart: %v", id, pid, err)
		}
	}
	for _, p := range pidsBefore {
		defer syscall.Kill(atoi(t, p), syscall.SIGKILL)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatalf("not a pid: %q", s)
	}
	return n
}

func TestDeadServerIsReplacedInRaft(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startServersOnly(t)
	dead := c.servers[2]
	dead.kill()
	live := c.servers[0]
	// A lone failure keeps its Raft seat: removing it would shrink the
	// quorum below bootstrap_expect.
	peers, err := live.client(t).Status().Peers()
	if err != nil || len(peers) != 3 {
		t.Fatalf("peers after one failure: %v, %v", peers, err)
	}
	replacement := newAgentProc(t, "server3", fmt.Sprintf("server {\n  enabled = true\n  bootstrap_expect = 3\n  server_join {\n    retry_join = [%q]\n    retry_interval = \"1s\"\n  }\n}\n", live.serfAddr()))
	replacement.start(t)
	t.Cleanup(replacement.stop)
	waitUntil(t, 90*time.Second, "the dead server replaced in the Raft configuration", func() bool {
		peers, err := live.client(t).Status().Peers()
		if err != nil || len(peers) != 3 {
			return false
		}
		for _, p := range peers {
			if p == dead.rpcAddr() {
				return false
			}
		}
		return true
	})
}
