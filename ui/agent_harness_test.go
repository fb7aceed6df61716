//go:build browser && linux

package ui_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// devAgent is a real `roam agent -dev` process on free loopback ports.
type devAgent struct {
	bin    string
	config string
	dir    string
	url    string
	cmd    *exec.Cmd
	log    *os.File
	client *api.Client
	// secret is the bootstrap token of an agent with ACLs on.
	secret string
}

// binaryEnv names the roam binary the tests run; TestMain builds one when
// it is unset.
const binaryEnv = "ROAM_BINARY"

// roamBinary is the binary under test.
func roamBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(binaryEnv)
	if bin == "" {
		t.Fatalf("%s is not set: TestMain should have built roam", binaryEnv)
	}
	return bin
}

// freePorts asks the kernel for n unused TCP ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startDevAgent builds roam and starts a dev agent, waiting for a ready client node.
func startDevAgent(t *testing.T) *devAgent {
	t.Helper()
	return startAgentWith(t, "")
}

// startACLDevAgent starts a dev agent with ACLs on and bootstraps them;
// its client sends the management token.
func startACLDevAgent(t *testing.T) *devAgent {
	t.Helper()
	return startAgentWith(t, "acl {\n  enabled = true\n}\n")
}

func startAgentWith(t *testing.T, extra string) *devAgent {
	t.Helper()
	dir := t.TempDir()
	p := freePorts(t, 3)
	cfg := filepath.Join(dir, "agent.hcl")
	body := fmt.Sprintf("ports {\n  http = %d\n  rpc  = %d\n  serf = %d\n}\n", p[0], p[1], p[2]) + extra
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &devAgent{bin: roamBinary(t), config: cfg, dir: dir, url: fmt.Sprintf("http://127.0.0.1:%d", p[0])}
	client, err := api.NewClient(&api.Config{Address: a.url})
	if err != nil {
		t.Fatalf("api client: %v", err)
	}
	a.client = client
	a.start(t)
	t.Cleanup(func() {
		a.stopJobs(t)
		a.stop()
		if t.Failed() {
			out, _ := os.ReadFile(a.log.Name())
			t.Logf("agent log (tail):\n%s", tail(string(out), 4000))
		}
	})
	return a
}

// start runs the agent process and waits until its client node is ready.
func (a *devAgent) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(a.dir, "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a.log = logf
	a.cmd = exec.Command(a.bin, "agent", "-dev", "-config", a.config)
	a.cmd.Dir = a.dir
	// The dev agent keeps its state and alloc dirs under TMPDIR: the test's
	// temporary directory, removed when the test ends.
	a.cmd.Env = append(os.Environ(), "TMPDIR="+a.dir)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	if strings.Contains(a.configText(t), "acl {") && a.secret == "" {
		waitUntil(t, 30*time.Second, "the ACL bootstrap", func() error {
			tok, _, err := a.client.ACLTokens().Bootstrap(nil)
			if err == nil {
				a.secret = tok.SecretID
				a.client.SetSecretID(tok.SecretID)
			}
			return err
		})
	}
	waitUntil(t, 90*time.Second, "the dev agent has a ready client node", func() error {
		nodes, _, err := a.client.Nodes().List(nil)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.Status == "ready" {
				return nil
			}
		}
		return fmt.Errorf("%d nodes, none ready", len(nodes))
	})
}

// configText is the agent's configuration file.
func (a *devAgent) configText(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(a.config)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// stopJobs stops every job and waits for its tasks to exit, so that no
// task outlives the agent.
func (a *devAgent) stopJobs(t *testing.T) {
	t.Helper()
	if a.cmd == nil {
		return
	}
	jobs, _, err := a.client.Jobs().List(nil)
	if err != nil {
		t.Logf("list jobs to stop them: %v", err)
		return
	}
	for _, j := range jobs {
		if _, _, err := a.client.Jobs().Deregister(j.ID, false, nil); err != nil {
			t.Logf("stop job %s: %v", j.ID, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		allocs, _, err := a.client.Allocations().List(nil)
		if err != nil {
			t.Logf("list allocations: %v", err)
			return
		}
		live := 0
		for _, al := range allocs {
			if al.ClientStatus == "running" || al.ClientStatus == "pending" {
				live++
			}
		}
		if live == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("some allocations were still running 30s after their jobs were stopped")
}

// stop ends the agent and the tasks it started (its process group).
func (a *devAgent) stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	a.cmd = nil
	a.log.Close()
}

// waitUntil retries cond until it returns nil or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting until %s: %v", what, err)
		case <-tick.C:
		}
	}
}

// loopJob is a raw_exec service job whose tasks print marker every second.
func loopJob(id string, count int, marker string) *api.Job {
	job := api.NewServiceJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	tg := api.NewTaskGroup("app", count)
	task := api.NewTask("loop", "raw_exec")
	task.Config = map[string]any{
		"command": "/bin/sh",
		"args":    []string{"-c", "while true; do echo " + marker + "; sleep 1; done"},
	}
	task.Resources = &api.Resources{CPU: ptr(100), MemoryMB: ptr(64)}
	tg.AddTask(task)
	job.AddTaskGroup(tg)
	return job
}

// runningAllocs waits until job has want running allocations and returns them.
func runningAllocs(t *testing.T, c *api.Client, job string, want int) []*api.AllocationListStub {
	t.Helper()
	var running []*api.AllocationListStub
	waitUntil(t, 60*time.Second, fmt.Sprintf("job %s has %d running allocations", job, want), func() error {
		allocs, _, err := c.Jobs().Allocations(job, false, nil)
		if err != nil {
			return err
		}
		running = running[:0]
		var states []string
		for _, a := range allocs {
			states = append(states, a.ClientStatus)
			if a.ClientStatus == "running" {
				running = append(running, a)
			}
		}
		if len(running) < want {
			return fmt.Errorf("allocations: %s", strings.Join(states, ", "))
		}
		return nil
	})
	return running
}

func ptr[T any](v T) *T { return &v }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
