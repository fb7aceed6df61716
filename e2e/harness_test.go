package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// roamBin is the binary under test, built once by TestMain.
var roamBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roam-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	roamBin = filepath.Join(dir, "roam")
	build := exec.Command("go", "build", "-o", roamBin, "../cmd/roam")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build roam:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// devAgent is a running `roam agent -dev` on free ports.
type devAgent struct {
	addr   string
	client *api.Client
	cmd    *exec.Cmd
	log    *os.File
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startDevAgent starts a dev agent and waits until its node is ready.
func startDevAgent(t testing.TB, extraConfig string) *devAgent {
	t.Helper()
	a := launchDevAgent(t, extraConfig)
	a.waitReady(t)
	return a
}

// waitReady waits until the agent's node is ready.
func (a *devAgent) waitReady(t testing.TB) {
	t.Helper()
	waitUntil(t, 30*time.Second, "a ready node", func() bool {
		nodes, _, err := a.client.Nodes().List(nil)
		return err == nil && len(nodes) == 1 && nodes[0].Status == "ready"
	})
}

// launchDevAgent starts a dev agent without waiting for it.
func launchDevAgent(t testing.TB, extraConfig string) *devAgent {
	t.Helper()
	dir := t.TempDir()
	ports := freePorts(t, 3)
	conf := fmt.Sprintf("ports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n%s", ports[0], ports[1], ports[2], extraConfig)
	confPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(roamBin, "agent", "-dev", "-config", confPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &devAgent{addr: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), cmd: cmd, log: logFile}
	t.Cleanup(func() { a.stop(t) })
	a.client, err = api.NewClient(&api.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *devAgent) stop(t testing.TB) {
	if a.cmd.ProcessState != nil {
		return
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
	}
	if t.Failed() {
		out, _ := os.ReadFile(a.log.Name())
		t.Logf("agent log:\n%s", tail(string(out), 60))
	}
	a.log.Close()
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// roam runs the CLI against the agent and returns its output and exit code.
func (a *devAgent) roam(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(roamBin, args...)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+a.addr)
	out, err := cmd.CombinedOutput()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run roam %v: %v", args, err)
	}
	return string(out), code
}

func ptr[T any](v T) *T { return &v }

// shellJob is a raw_exec job running a shell script.
func shellJob(id, jobType string, count int, script string) *api.Job {
	job := api.NewServiceJob(id, id, "global", 50)
	if jobType == "batch" {
		job = api.NewBatchJob(id, id, "global", 50)
	}
	task := api.NewTask("main", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", script}).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	group := api.NewTaskGroup("app", count).AddTask(task)
	job.AddTaskGroup(group)
	return job
}

// allocsOf lists a job's allocations.
func (a *devAgent) allocsOf(t testing.TB, jobID string) []*api.AllocationListStub {
	t.Helper()
	allocs, _, err := a.client.Jobs().Allocations(jobID, true, nil)
	if err != nil {
		t.Fatalf("list allocations of %s: %v", jobID, err)
	}
	return allocs
}

// countStatus counts allocations in a client status.
func countStatus(allocs []*api.AllocationListStub, status string) int {
	n := 0
	for _, a := range allocs {
		if a.ClientStatus == status {
			n++
		}
	}
	return n
}
