package benchscale

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"
)

// serverProc is one `roam agent` server process on loopback.
type serverProc struct {
	name    string
	bin     string
	dir     string
	ports   [3]int // http, rpc, serf
	conf    string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{}
	httpURL string
}

func newServerProc(bin, root, name string) (*serverProc, error) {
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	p := &serverProc{name: name, bin: bin, dir: dir}
	copy(p.ports[:], ports)
	p.httpURL = fmt.Sprintf("http://127.0.0.1:%d", p.ports[0])
	p.conf = fmt.Sprintf(`name = %q
data_dir = %q
bind_addr = "127.0.0.1"
log_level = "WARN"
enable_debug = true
telemetry {
  prometheus_metrics = true
}
ports {
  http = %d
  rpc  = %d
  serf = %d
}
`, name, filepath.Join(dir, "data"), p.ports[0], p.ports[1], p.ports[2])
	return p, nil
}

func (p *serverProc) rpcAddr() string  { return fmt.Sprintf("127.0.0.1:%d", p.ports[1]) }
func (p *serverProc) serfAddr() string { return fmt.Sprintf("127.0.0.1:%d", p.ports[2]) }

// join completes the configuration with the server block.
func (p *serverProc) join(expect int, peers []string) {
	quoted := make([]string, len(peers))
	for i, a := range peers {
		quoted[i] = strconv.Quote(a)
	}
	p.conf += fmt.Sprintf("server {\n  enabled = true\n  bootstrap_expect = %d\n", expect)
	if expect > 1 {
		p.conf += fmt.Sprintf("  server_join {\n    retry_join = [%s]\n    retry_interval = \"1s\"\n  }\n", strings.Join(quoted, ", "))
	}
	p.conf += "}\n"
}

func (p *serverProc) start() error {
	confPath := filepath.Join(p.dir, "agent.hcl")
	if err := os.WriteFile(confPath, []byte(p.conf), 0o644); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(p.dir, "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	p.log = logFile
	p.cmd = exec.Command(p.bin, "agent", "-config", confPath)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// kill ends the process with SIGKILL, as a crash would.
func (p *serverProc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.log.Close()
	p.cmd = nil
}

// stop interrupts the process and waits for it, killing it after a while.
func (p *serverProc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		p.log.Close()
		p.cmd = nil
	case <-time.After(20 * time.Second):
		p.kill()
	}
}

func (p *serverProc) client() (*api.Client, error) {
	return api.NewClient(&api.Config{Address: p.httpURL})
}

// rssBytes is the process's resident set size.
func (p *serverProc) rssBytes() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// cpuTime is the CPU time (user and system) the process has used.
func (p *serverProc) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// cluster is the run's servers.
type cluster struct {
	servers []*serverProc
}

func startCluster(bin, dir string, n int) (*cluster, error) {
	c := &cluster{}
	for i := 0; i < n; i++ {
		p, err := newServerProc(bin, dir, fmt.Sprintf("server%d", i))
		if err != nil {
			return nil, err
		}
		c.servers = append(c.servers, p)
	}
	var serf []string
	for _, p := range c.servers {
		serf = append(serf, p.serfAddr())
	}
	for _, p := range c.servers {
		p.join(n, serf)
		if err := p.start(); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *cluster) stop() {
	for _, p := range c.servers {
		p.stop()
	}
}

func (c *cluster) rpcAddrs() []string {
	var addrs []string
	for _, p := range c.servers {
		addrs = append(addrs, p.rpcAddr())
	}
	return addrs
}

// waitLeader waits until a running server says it is the leader and
// accepts a write.
func (c *cluster) waitLeader(ctx context.Context, d time.Duration) (*serverProc, error) {
	var leader *serverProc
	err := waitFor(ctx, d, func() bool {
		for _, p := range c.servers {
			if p.cmd != nil && p.isLeader() && p.acceptsWrite() {
				leader = p
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("no leader within %s", d)
	}
	return leader, nil
}

// isLeader asks the agent whether it leads.
func (p *serverProc) isLeader() bool {
	client, err := p.client()
	if err != nil {
		return false
	}
	self, err := client.Agent().Self()
	return err == nil && self.Stats["nomad"]["leader"] == "true"
}

// acceptsWrite registers a job of count 0: it succeeds only through a
// ready leader.
func (p *serverProc) acceptsWrite() bool {
	client, err := p.client()
	if err != nil {
		return false
	}
	_, _, err = client.Jobs().Register(probeJob(), nil)
	return err == nil
}

// failover kills the leader with SIGKILL and times until a server (the
// restarted one, when it was alone) accepts a write as leader, which it
// returns.
func (c *cluster) failover(ctx context.Context, leader *serverProc) (*serverProc, time.Duration, error) {
	start := time.Now()
	leader.kill()
	if len(c.servers) == 1 {
		if err := leader.start(); err != nil {
			return nil, 0, err
		}
	}
	next, err := c.waitLeader(ctx, 5*time.Minute)
	if err != nil {
		return nil, 0, err
	}
	return next, time.Since(start), nil
}

// nodesNotReady polls the leader's node list every second for d and
// returns the most nodes seen at once in another status than ready: after
// a failover, nodes the new leader marked down (or disconnected) before
// they found it.
func (p *serverProc) nodesNotReady(ctx context.Context, d time.Duration) (int, error) {
	client, err := p.client()
	if err != nil {
		return 0, err
	}
	most := 0
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		nodes, _, err := client.Nodes().List(nil)
		if err != nil {
			return most, err
		}
		n := 0
		for _, node := range nodes {
			if node.Status != api.NodeStatusReady {
				n++
			}
		}
		most = max(most, n)
		select {
		case <-ctx.Done():
			return most, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return most, nil
}
