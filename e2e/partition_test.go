package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// The partition tests run each agent in its own container, a separate host
// with its own network stack. Every container sits on two networks:
//
//   - the cluster network, on which agents talk to each other and which a
//     test cuts with `docker network disconnect`;
//   - the control network, on which only the test process reaches each
//     agent's HTTP API: inter-container traffic is disabled there
//     (enable_icc=false), so it never carries cluster traffic and an
//     isolated agent stays observable.

// partitionLabel marks every container, network and image the tests
// create, for a manual clean-up after an interrupted run:
// docker rm -f $(docker ps -aq -f label=roam-e2e=partition).
const partitionLabel = "roam-e2e=partition"

// partitionBins holds the static binaries baked into the agents' image.
var partitionBins struct {
	once sync.Once
	dir  string
	err  error
}

// buildStaticBinaries builds a static roam and the sleeper task once per
// test run, next to roamBin so that TestMain removes them.
func buildStaticBinaries(t *testing.T) string {
	t.Helper()
	partitionBins.once.Do(func() {
		dir := filepath.Join(filepath.Dir(roamBin), "partition")
		for name, pkg := range map[string]string{"roam": "../cmd/roam", "sleeper": "./testdata/partition/sleeper"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				partitionBins.err = fmt.Errorf("build static %s: %v\n%s", name, err, out)
				return
			}
		}
		partitionBins.dir = dir
	})
	if partitionBins.err != nil {
		t.Fatal(partitionBins.err)
	}
	return partitionBins.dir
}

// dockerCLI runs the docker CLI and returns its trimmed output.
func dockerCLI(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

func mustDockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerCLI(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dockerCluster is a set of agent containers on a private network pair.
type dockerCluster struct {
	prefix     string
	image      string
	clusterNet string
	controlNet string
	clusterSub string // the first three octets of the cluster subnet
	controlSub string
	agents     []*containerAgent // in start order
}

// containerAgent is one agent in its own container.
type containerAgent struct {
	name      string // agent name, also its node name
	container string
	clusterIP string // the address other agents reach it on
	api       *api.Client
}

// newDockerCluster builds the agents' image and creates the two networks,
// or skips the test when no Docker engine answers.
func newDockerCluster(t *testing.T) *dockerCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("partition tests start containers")
	}
	if _, err := dockerCLI("version", "--format", "{{.Server.Version}}"); err != nil {
		t.Skipf("docker is not available: %v", err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	dc := &dockerCluster{prefix: "roam-part-" + hex.EncodeToString(suffix)}
	dc.image = dc.prefix + ":test"
	dc.buildImage(t)
	dc.clusterNet, dc.clusterSub = dc.createNetwork(t, "cluster")
	dc.controlNet, dc.controlSub = dc.createNetwork(t, "control", "-o", "com.docker.network.bridge.enable_icc=false")
	return dc
}

func (dc *dockerCluster) buildImage(t *testing.T) {
	t.Helper()
	bins := buildStaticBinaries(t)
	ctx := t.TempDir()
	for _, name := range []string{"roam", "sleeper"} {
		b, err := os.ReadFile(filepath.Join(bins, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ctx, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A scratch image has no directories: the copied empty one is the
	// agent's data dir.
	if err := os.Mkdir(filepath.Join(ctx, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM scratch\nCOPY roam /roam\nCOPY sleeper /sleeper\nCOPY data /data\nWORKDIR /data\nENTRYPOINT [\"/roam\"]\n"
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	mustDockerCLI(t, "build", "-q", "--label", partitionLabel, "-t", dc.image, ctx)
	t.Cleanup(func() { _, _ = dockerCLI("rmi", "-f", dc.image) })
}

// createNetwork creates a bridge network on a free random /24 and returns
// its name and the subnet's first three octets.
func (dc *dockerCluster) createNetwork(t *testing.T, role string, opts ...string) (string, string) {
	t.Helper()
	name := dc.prefix + "-" + role
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		sub := fmt.Sprintf("10.%d.%d", 200+mrand.Intn(50), mrand.Intn(256))
		args := append([]string{"network", "create", "--label", partitionLabel, "--subnet", sub + ".0/24"}, opts...)
		if _, lastErr = dockerCLI(append(args, name)...); lastErr == nil {
			t.Cleanup(func() { _, _ = dockerCLI("network", "rm", name) })
			return name, sub
		}
	}
	t.Fatalf("create %s network: %v", role, lastErr)
	return "", ""
}

// start creates and starts one agent container with the given agent
// configuration body; name, data dir and addresses are filled in.
func (dc *dockerCluster) start(t *testing.T, name, body string) *containerAgent {
	t.Helper()
	n := len(dc.agents)
	a := &containerAgent{name: name, container: dc.prefix + "-" + name, clusterIP: hostIP(dc.clusterSub, n)}
	controlIP := hostIP(dc.controlSub, n)
	conf := fmt.Sprintf(`name      = %q
data_dir  = "/data"
bind_addr = "0.0.0.0"
log_level = "DEBUG"
advertise {
  http = %[2]q
  rpc  = %[2]q
  serf = %[2]q
}
%s`, name, a.clusterIP, body)
	confPath := filepath.Join(t.TempDir(), "agent.hcl")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	mustDockerCLI(t, "create", "--name", a.container, "--hostname", name, "--label", partitionLabel,
		"--network", dc.controlNet, "--ip", controlIP, dc.image, "agent", "-config", "/agent.hcl")
	dc.agents = append(dc.agents, a)
	if len(dc.agents) == 1 {
		t.Cleanup(func() { dc.remove(t) })
	}
	mustDockerCLI(t, "cp", confPath, a.container+":/agent.hcl")
	dc.attach(t, a)
	mustDockerCLI(t, "start", a.container)
	dc.requireClusterIP(t, a)
	var err error
	a.api, err = api.NewClient(&api.Config{
		Address:    fmt.Sprintf("http://%s:4646", controlIP),
		HttpClient: &http.Client{Timeout: 15 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// remove deletes every container, first logging their tails when the
// test failed.
func (dc *dockerCluster) remove(t *testing.T) {
	for _, a := range dc.agents {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "40", a.container).CombinedOutput()
			t.Logf("%s log:\n%s", a.name, out)
		}
		if _, err := dockerCLI("rm", "-f", "-v", a.container); err != nil {
			t.Logf("clean-up: %v", err)
		}
	}
}

// disconnect cuts an agent off the cluster network.
func (dc *dockerCluster) disconnect(t *testing.T, a *containerAgent) {
	t.Helper()
	mustDockerCLI(t, "network", "disconnect", dc.clusterNet, a.container)
}

// connect heals an agent's partition: it attaches the running container to
// the cluster network again, at its former address.
func (dc *dockerCluster) connect(t *testing.T, a *containerAgent) {
	t.Helper()
	dc.attach(t, a)
	dc.requireClusterIP(t, a)
}

func (dc *dockerCluster) attach(t *testing.T, a *containerAgent) {
	t.Helper()
	mustDockerCLI(t, "network", "connect", "--ip", a.clusterIP, "--alias", a.name, dc.clusterNet, a.container)
}

// requireClusterIP checks that a running agent has its fixed address.
func (dc *dockerCluster) requireClusterIP(t *testing.T, a *containerAgent) {
	t.Helper()
	got := mustDockerCLI(t, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", dc.clusterNet), a.container)
	if got != a.clusterIP {
		t.Fatalf("%s is on the cluster network at %q, want %s", a.name, got, a.clusterIP)
	}
}

// hostIP is the address of the n-th started agent on a /24 subnet.
func hostIP(subnet string, n int) string { return fmt.Sprintf("%s.%d", subnet, 11+n) }

// serverBlock is the server stanza of a cluster of n servers that join
// the quoted addresses. The short heartbeat TTL and grace let a test see
// a cut-off node marked down within seconds.
func serverBlock(n int, join []string) string {
	return fmt.Sprintf(`server {
  enabled           = true
  bootstrap_expect  = %d
  heartbeat_grace   = "2s"
  min_heartbeat_ttl = "2s"
  server_join {
    retry_join     = [%s]
    retry_interval = "1s"
  }
}
`, n, strings.Join(join, ", "))
}

// startServers starts n servers that join each other.
func (dc *dockerCluster) startServers(t *testing.T, n int) []*containerAgent {
	t.Helper()
	// Addresses follow the start order, so the peers' are known up front.
	var peers []string
	for i := 0; i < n; i++ {
		peers = append(peers, fmt.Sprintf("%q", hostIP(dc.clusterSub, len(dc.agents)+i)))
	}
	var servers []*containerAgent
	for i := 0; i < n; i++ {
		var join []string
		if n > 1 {
			join = append(append(join, peers[:i]...), peers[i+1:]...)
		}
		servers = append(servers, dc.start(t, fmt.Sprintf("server%d", i), serverBlock(n, join)))
	}
	return servers
}

// startClient starts a client agent with raw_exec that uses servers.
func (dc *dockerCluster) startClient(t *testing.T, name string, servers []*containerAgent) *containerAgent {
	t.Helper()
	var addrs []string
	for _, s := range servers {
		addrs = append(addrs, fmt.Sprintf("%q", s.clusterIP+":4647"))
	}
	return dc.start(t, name, fmt.Sprintf(`client {
  enabled = true
  servers = [%s]
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, strings.Join(addrs, ", ")))
}

// waitAgreedLeader waits until every given server names the same leader among
// them and returns it.
func waitAgreedLeader(t *testing.T, servers []*containerAgent, timeout time.Duration) *containerAgent {
	t.Helper()
	var leader *containerAgent
	waitUntil(t, timeout, "one leader agreed on by "+agentNames(servers), func() bool {
		leader = nil
		var first string
		for i, s := range servers {
			addr, err := s.api.Status().Leader()
			if err != nil || addr == "" || (i > 0 && addr != first) {
				return false
			}
			first = addr
		}
		for _, s := range servers {
			if s.clusterIP+":4647" == first {
				leader = s
			}
		}
		return leader != nil
	})
	return leader
}

func agentNames(agents []*containerAgent) string {
	var out []string
	for _, a := range agents {
		out = append(out, a.name)
	}
	return strings.Join(out, ", ")
}

// sleeperJob is a service job whose task blocks until it is stopped.
func sleeperJob(id string, count int) *api.Job {
	job := api.NewServiceJob(id, id, "global", 50)
	task := api.NewTask("main", "raw_exec").
		SetConfig("command", "/sleeper").
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	job.AddTaskGroup(api.NewTaskGroup("app", count).AddTask(task))
	return job
}

// staleJobIDs lists the jobs an agent's own state store holds.
func staleJobIDs(a *containerAgent) (map[string]bool, error) {
	jobs, _, err := a.api.Jobs().List(&api.QueryOptions{AllowStale: true})
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, j := range jobs {
		ids[j.ID] = true
	}
	return ids, nil
}

// TestPartitionLeaderFromMajority cuts the leader of three servers off
// from the other two: they elect a leader and take writes, the old leader
// refuses them, and once healed it catches up under a single leader.
func TestPartitionLeaderFromMajority(t *testing.T) {
	dc := newDockerCluster(t)
	servers := dc.startServers(t, 3)
	oldLeader := waitAgreedLeader(t, servers, 60*time.Second)
	if _, _, err := oldLeader.api.Jobs().Register(sleeperJob("before", 1), nil); err != nil {
		t.Fatalf("register through the leader %s: %v", oldLeader.name, err)
	}

	var majority []*containerAgent
	for _, s := range servers {
		if s != oldLeader {
			majority = append(majority, s)
		}
	}
	t.Logf("cutting the leader %s off from %s", oldLeader.name, agentNames(majority))
	cutAt := time.Now()
	dc.disconnect(t, oldLeader)
	newLeader := waitAgreedLeader(t, majority, 30*time.Second)
	t.Logf("%s leads the majority after %s", newLeader.name, time.Since(cutAt).Round(time.Millisecond))
	follower := majority[0]
	if follower == newLeader {
		follower = majority[1]
	}
	if _, _, err := follower.api.Jobs().Register(sleeperJob("during", 1), nil); err != nil {
		t.Fatalf("register through %s, a follower of the majority: %v", follower.name, err)
	}

	checkIsolated(t, oldLeader)

	dc.connect(t, oldLeader)
	waitUntil(t, 60*time.Second, oldLeader.name+" to catch up", func() bool {
		ids, err := staleJobIDs(oldLeader)
		return err == nil && ids["before"] && ids["during"]
	})
	final := waitAgreedLeader(t, servers, 30*time.Second)
	if _, _, err := oldLeader.api.Jobs().Register(sleeperJob("after", 1), nil); err != nil {
		t.Fatalf("register through the healed %s: %v", oldLeader.name, err)
	}
	for _, s := range servers {
		ids, err := staleJobIDs(s)
		if err != nil {
			t.Fatalf("list jobs on %s: %v", s.name, err)
		}
		if ids["minority"] {
			t.Errorf("%s holds the job written to the isolated minority", s.name)
		}
	}
	t.Logf("after healing, %s leads all three servers", final.name)
}

// checkIsolated checks what a deposed leader cut off from the majority
// does: it steps down, still serves stale reads of what it had, refuses
// consistent reads and refuses writes. The minority write must not be
// committed once the partition heals: the caller checks that.
func checkIsolated(t *testing.T, a *containerAgent) {
	t.Helper()
	waitUntil(t, 30*time.Second, a.name+" to step down", func() bool {
		addr, err := a.api.Status().Leader()
		return err != nil || addr != a.clusterIP+":4647"
	})
	ids, err := staleJobIDs(a)
	if err != nil {
		t.Fatalf("stale read on the isolated %s: %v", a.name, err)
	}
	if !ids["before"] || ids["during"] {
		t.Errorf("the isolated %s holds jobs %v, want only the one written before the cut", a.name, ids)
	}
	if _, _, err := a.api.Jobs().List(nil); err == nil {
		t.Errorf("the isolated %s answered a consistent read", a.name)
	}
	if _, _, err := a.api.Jobs().Register(sleeperJob("minority", 1), nil); err == nil {
		t.Fatalf("the isolated %s accepted a write", a.name)
	} else {
		t.Logf("the isolated %s refused the write: %v", a.name, err)
	}
}

// TestPartitionClientAllocsReplaced cuts a client off from the server: its
// node goes down, its allocation is lost and replaced on the other client,
// and once healed the client stops the old allocation's task.
func TestPartitionClientAllocsReplaced(t *testing.T) {
	dc := newDockerCluster(t)
	server := dc.startServers(t, 1)[0]
	clients := map[string]*containerAgent{}
	for _, name := range []string{"client0", "client1"} {
		clients[name] = dc.startClient(t, name, []*containerAgent{server})
	}
	waitUntil(t, 60*time.Second, "a leader and two ready nodes", func() bool {
		nodes, _, err := server.api.Nodes().List(nil)
		return err == nil && len(nodes) == 2 && nodes[0].Status == "ready" && nodes[1].Status == "ready"
	})
	if _, _, err := server.api.Jobs().Register(sleeperJob("web", 1), nil); err != nil {
		t.Fatal(err)
	}
	var first *api.AllocationListStub
	waitUntil(t, 30*time.Second, "the alloc of web running", func() bool {
		allocs, _, err := server.api.Jobs().Allocations("web", true, nil)
		if err != nil || len(allocs) != 1 || allocs[0].ClientStatus != "running" {
			return false
		}
		first = allocs[0]
		return true
	})
	cut := clients[first.NodeName]
	t.Logf("alloc %s runs on %s; cutting it off", first.ID[:8], cut.name)
	cutAt := time.Now()
	dc.disconnect(t, cut)

	replacement := waitLostAndReplaced(t, server.api, first)
	t.Logf("%s down and replacement %s running on %s after %s", cut.name, replacement.ID[:8],
		replacement.NodeName, time.Since(cutAt).Round(time.Millisecond))
	if top := mustDockerCLI(t, "top", clients[replacement.NodeName].container); !strings.Contains(top, "/sleeper") {
		t.Fatalf("no sleeper task runs in %s:\n%s", replacement.NodeName, top)
	}
	// Without a disconnect block, a client that cannot reach its servers
	// keeps its tasks running until it hears that they must stop.
	if top := mustDockerCLI(t, "top", cut.container); !strings.Contains(top, "/sleeper") {
		t.Fatalf("the cut-off %s stopped its task before it could reach the server:\n%s", cut.name, top)
	}

	dc.connect(t, cut)
	oldStatus := waitOldStopped(t, server.api, first, cut)
	t.Logf("%s is back; its old alloc ended %s and its task is gone", cut.name, oldStatus)
	allocs, _, err := server.api.Jobs().Allocations("web", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allocs {
		if running := a.ClientStatus == "running"; running != (a.ID == replacement.ID) {
			t.Errorf("alloc %s on %s is %s; want the replacement %s alone running",
				a.ID[:8], a.NodeName, a.ClientStatus, replacement.ID[:8])
		}
	}
}

// waitLostAndReplaced waits until the node of a cut-off alloc is down, the
// alloc lost, and a replacement running on another node; it returns the
// replacement.
func waitLostAndReplaced(t *testing.T, c *api.Client, cutOff *api.AllocationListStub) *api.AllocationListStub {
	t.Helper()
	var replacement *api.AllocationListStub
	waitUntil(t, 60*time.Second, "the node down, its alloc lost and a replacement running", func() bool {
		node, _, err := c.Nodes().Info(cutOff.NodeID, nil)
		if err != nil || node.Status != "down" {
			return false
		}
		allocs, _, err := c.Jobs().Allocations(cutOff.JobID, true, nil)
		if err != nil {
			return false
		}
		replacement = nil
		lost := false
		for _, a := range allocs {
			switch {
			case a.ID == cutOff.ID:
				lost = a.ClientStatus == "lost" && a.DesiredStatus == "stop"
			case a.ClientStatus == "running" && a.NodeID != cutOff.NodeID:
				replacement = a
			}
		}
		return lost && replacement != nil
	})
	return replacement
}

// waitOldStopped waits until a healed client's node is ready again, its
// lost alloc is terminal and its task no longer runs in the container; it
// returns the alloc's final client status.
func waitOldStopped(t *testing.T, c *api.Client, old *api.AllocationListStub, client *containerAgent) string {
	t.Helper()
	var status string
	waitUntil(t, 60*time.Second, client.name+" back and its old alloc stopped", func() bool {
		node, _, err := c.Nodes().Info(old.NodeID, nil)
		if err != nil || node.Status != "ready" {
			return false
		}
		alloc, _, err := c.Allocations().Info(old.ID, nil)
		if err != nil || (alloc.ClientStatus != "complete" && alloc.ClientStatus != "lost") {
			return false
		}
		status = alloc.ClientStatus
		return !strings.Contains(mustDockerCLI(t, "top", client.container), "/sleeper")
	})
	return status
}
