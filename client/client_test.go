package client

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/client/clienttest"
)

func TestRegisterNode(t *testing.T) {
	servers := clienttest.NewServers()
	dir := t.TempDir()
	h := startClient(t, servers, dir)
	node := servers.Node(h.client.Node().ID)
	attrs := map[string]string{
		"driver.raw_exec": "1", "nomad.version": "1.9.0", "kernel.name": "linux",
		"unique.network.ip-address": "127.0.0.1",
	}
	for k, want := range attrs {
		t.Run(k, func(t *testing.T) {
			if node.Attributes[k] != want {
				t.Fatalf("%s = %q, want %q", k, node.Attributes[k], want)
			}
		})
	}
	if d := node.Drivers["raw_exec"]; d == nil || !d.Healthy || !d.Detected {
		t.Fatalf("raw_exec driver info = %+v", d)
	}
	if node.Status != "ready" || node.NodeResources.Cpu.CpuShares <= 0 {
		t.Fatalf("node status %q, cpu %d", node.Status, node.NodeResources.Cpu.CpuShares)
	}
	id := node.ID
	h.stop()
	h2 := startClient(t, servers, dir)
	if h2.client.Node().ID != id {
		t.Fatalf("node ID changed across restart: %s then %s", id, h2.client.Node().ID)
	}
}

func TestBatchAllocEnvAndLayout(t *testing.T) {
	servers := clienttest.NewServers()
	h := startClient(t, servers, t.TempDir())
	task := clienttest.ShellTask("web", `env; echo done`)
	task.Env = map[string]string{"GREETING": "hi-${NOMAD_TASK_NAME}-${attr.kernel.name}"}
	alloc := clienttest.Alloc(h.client.Node().ID, "batch", task)
	servers.PutAlloc(alloc)
	final := h.waitStatus(alloc.ID, "complete")

	allocDir := filepath.Join(h.dataDir, "alloc", alloc.ID)
	log := h.waitLog(alloc.ID, "web", "done")
	wantEnv := map[string]string{
		"NOMAD_ALLOC_ID": alloc.ID, "NOMAD_ALLOC_NAME": "example.web[0]", "NOMAD_ALLOC_INDEX": "0",
		"NOMAD_TASK_NAME": "web", "NOMAD_GROUP_NAME": "web", "NOMAD_JOB_NAME": "example",
		"NOMAD_JOB_ID": "example", "NOMAD_NAMESPACE": "default", "NOMAD_DC": "dc1", "NOMAD_REGION": "global",
		"NOMAD_CPU_LIMIT": "100", "NOMAD_MEMORY_LIMIT": "64", "NOMAD_PORT_http": "25000",
		"NOMAD_HOST_PORT_http": "25000", "NOMAD_IP_http": "127.0.0.1", "NOMAD_ADDR_http": "127.0.0.1:25000",
		"NOMAD_ALLOC_DIR": filepath.Join(allocDir, "alloc"), "NOMAD_TASK_DIR": filepath.Join(allocDir, "web", "local"),
		"NOMAD_SECRETS_DIR": filepath.Join(allocDir, "web", "secrets"), "GREETING": "hi-web-linux",
	}
	for k, v := range wantEnv {
		t.Run("env "+k, func(t *testing.T) {
			if !strings.Contains(log, "\n"+k+"="+v+"\n") && !strings.HasPrefix(log, k+"="+v+"\n") {
				t.Fatalf("task env lacks %s=%s", k, v)
			}
		})
	}
	for _, rel := range []string{"alloc/data", "alloc/tmp", "alloc/logs", "web/local", "web/secrets", "web/tmp"} {
		t.Run("dir "+rel, func(t *testing.T) {
			if fi, err := os.Stat(filepath.Join(allocDir, rel)); err != nil || !fi.IsDir() {
				t.Fatalf("%s: %v", rel, err)
			}
		})
	}
	state := final.TaskStates["web"]
	want := []string{"Received", "Task Setup", "Started", "Terminated"}
	if got := eventTypes(state); !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	if final.ClientDescription != "All tasks have completed" || state.Failed || state.State != "dead" {
		t.Fatalf("alloc %q %q, task %+v", final.ClientStatus, final.ClientDescription, state)
	}
	if msg := findEvent(state, "Terminated").DisplayMessage; msg != "Exit Code: 0" {
		t.Fatalf("Terminated message %q", msg)
	}
}

func TestRestartPolicy(t *testing.T) {
	// The script fails its first two runs and succeeds afterwards.
	script := `f=$NOMAD_ALLOC_DIR/data/runs; n=$(cat $f 2>/dev/null || echo 0); echo $((n+1)) > $f; [ $n -ge 2 ] && exit 0; exit 1`
	cases := []struct {
		name         string
		script       string
		attempts     int
		interval     time.Duration
		mode         string
		wantStatus   string
		wantRestarts uint64
		wantEvent    string // type of an event that must be present
		wantMessage  string // its display message's prefix
	}{
		{"mode fail exhausts attempts", "exit 1", 2, time.Hour, "fail", "failed", 2,
			"Not Restarting", `Exceeded allowed attempts 2 in interval 1h0m0s and mode is "fail"`},
		{"mode delay waits out the interval", script, 1, 2 * time.Second, "delay", "complete", 2,
			"Restarting", "Exceeded allowed attempts, applying a delay - Task restarting in"},
		{"no restarts allowed", "exit 1", 0, time.Hour, "fail", "failed", 0,
			"Not Restarting", "Policy allows no restarts"},
	}
	servers := clienttest.NewServers()
	h := startClient(t, servers, t.TempDir())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alloc := clienttest.Alloc(h.client.Node().ID, "batch", clienttest.ShellTask("web", tc.script))
			clienttest.Restart(alloc, tc.attempts, tc.interval, 10*time.Millisecond, tc.mode)
			servers.PutAlloc(alloc)
			final := h.waitStatus(alloc.ID, "complete", "failed")
			state := final.TaskStates["web"]
			if final.ClientStatus != tc.wantStatus || state.Restarts != tc.wantRestarts {
				t.Fatalf("status %q restarts %d, want %q %d; events %v", final.ClientStatus, state.Restarts, tc.wantStatus, tc.wantRestarts, eventTypes(state))
			}
			var found bool
			for _, e := range state.Events {
				found = found || e.Type == tc.wantEvent && strings.HasPrefix(e.DisplayMessage, tc.wantMessage)
			}
			if !found {
				t.Fatalf("no %q event with %q in %+v", tc.wantEvent, tc.wantMessage, state.Events)
			}
			if state.Failed != (tc.wantStatus == "failed") {
				t.Fatalf("Failed = %v", state.Failed)
			}
		})
	}
}

func TestStopAlloc(t *testing.T) {
	cases := []struct {
		name        string
		script      string
		killSignal  string
		killTimeout time.Duration
		wantExit    string
		wantKilling string
	}{
		{"default signal is SIGINT", `trap 'echo bye; exit 0' INT; echo ready; while true; do sleep 0.05; done`,
			"", 5 * time.Second, "Exit Code: 0", "Sent interrupt. Waiting 5s before force killing"},
		{"kill_signal honoured", `trap 'exit 3' TERM; echo ready; while true; do sleep 0.05; done`,
			"SIGTERM", 5 * time.Second, "Exit Code: 3", "Sent interrupt. Waiting 5s before force killing"},
		{"kill_timeout escalates to SIGKILL", `trap '' INT TERM; echo ready; while true; do sleep 0.05; done`,
			"SIGTERM", 300 * time.Millisecond, "Exit Code: 137, Signal: 9", "Sent interrupt. Waiting 300ms before force killing"},
	}
	servers := clienttest.NewServers()
	h := startClient(t, servers, t.TempDir())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := clienttest.ShellTask("web", tc.script)
			task.KillSignal, task.KillTimeout = tc.killSignal, &tc.killTimeout
			alloc := clienttest.Alloc(h.client.Node().ID, "service", task)
			servers.PutAlloc(alloc)
			h.waitStatus(alloc.ID, "running")
			h.waitLog(alloc.ID, "web", "ready")
			h.stopAlloc(alloc.ID)
			final := h.waitStatus(alloc.ID, "complete")
			state := final.TaskStates["web"]
			types := eventTypes(state)
			if want := []string{"Killing", "Terminated", "Killed"}; !reflect.DeepEqual(types[len(types)-3:], want) {
				t.Fatalf("events = %v, want to end with %v", types, want)
			}
			if got := findEvent(state, "Terminated").DisplayMessage; got != tc.wantExit {
				t.Fatalf("Terminated %q, want %q", got, tc.wantExit)
			}
			if got := findEvent(state, "Killing").DisplayMessage; got != tc.wantKilling {
				t.Fatalf("Killing %q, want %q", got, tc.wantKilling)
			}
		})
	}
}

func TestDestroyAllocs(t *testing.T) {
	servers := clienttest.NewServers()
	h := startClient(t, servers, t.TempDir())
	alloc := clienttest.Alloc(h.client.Node().ID, "service", clienttest.ShellTask("web", `echo ready; while true; do sleep 0.05; done`))
	servers.PutAlloc(alloc)
	h.waitStatus(alloc.ID, "running")
	h.waitLog(alloc.ID, "web", "ready")
	if err := h.client.DestroyAllocs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.dataDir, "alloc", alloc.ID)); !os.IsNotExist(err) {
		t.Fatalf("alloc dir still present: %v", err)
	}
	if _, err := h.client.AllocRunner(alloc.ID); err == nil {
		t.Fatal("alloc runner still known")
	}
}
