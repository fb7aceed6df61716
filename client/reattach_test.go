package client

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
)

var pidLine = regexp.MustCompile(`pid=(\d+)`)

func taskPIDs(t *testing.T, log string) []int {
	t.Helper()
	var out []int
	for _, m := range pidLine.FindAllStringSubmatch(log, -1) {
		pid, _ := strconv.Atoi(m[1])
		out = append(out, pid)
	}
	return out
}

func TestClientRestartReattaches(t *testing.T) {
	cases := []struct {
		name string
		// killWhileAway kills the task between the two clients.
		killWhileAway bool
	}{
		{"running task is kept", false},
		{"task that died while away is reported and restarted", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			servers := clienttest.NewServers()
			dir := t.TempDir()
			h1 := startClient(t, servers, dir)
			alloc := clienttest.Alloc(h1.client.Node().ID, "service",
				clienttest.ShellTask("web", `echo pid=$$; while true; do sleep 0.05; done`))
			clienttest.Restart(alloc, 2, time.Hour, 10*time.Millisecond, "fail")
			servers.PutAlloc(alloc)
			h1.waitStatus(alloc.ID, "running")
			pid := taskPIDs(t, h1.waitLog(alloc.ID, "web", "pid="))[0]
			h1.stop()
			if err := syscall.Kill(pid, 0); err != nil {
				t.Fatalf("task %d did not survive the client shutdown: %v", pid, err)
			}
			if tc.killWhileAway {
				if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				exitFile := filepath.Join(dir, "alloc", alloc.ID, "web", ".executor", "exit.json")
				waitFor(t, "executor to record the exit", func() bool { _, err := os.Stat(exitFile); return err == nil })
			}

			h2 := startClient(t, servers, dir)
			defer h2.stopAlloc(alloc.ID)
			taskID := alloc.ID + "/web"
			if !tc.killWhileAway {
				waitFor(t, "re-attach to the running task", func() bool {
					stats, err := h2.driver.TaskStats(context.Background(), taskID)
					return err == nil && slices.Contains(stats.PIDs, pid)
				})
				ar, _ := h2.client.AllocRunner(alloc.ID)
				state := ar.TaskStates()["web"]
				if n := countEvents(state, "Started"); n != 1 || state.Restarts != 0 || state.State != "running" {
					t.Fatalf("after re-attach: %d Started events, %d restarts, state %s", n, state.Restarts, state.State)
				}
				return
			}
			var log string
			waitFor(t, "the task to be restarted", func() bool {
				data, _ := os.ReadFile(h2.logPath(alloc.ID, "web"))
				log = string(data)
				return len(taskPIDs(t, log)) == 2
			})
			var state *api.TaskState
			waitFor(t, "the servers to see the restart", func() bool {
				state = servers.Alloc(alloc.ID).TaskStates["web"]
				return state.Restarts == 1 && state.State == "running"
			})
			term := findEvent(state, "Terminated")
			if term == nil || term.DisplayMessage != "Exit Code: 137, Signal: 9" || state.Restarts != 1 {
				t.Fatalf("events %v restarts %d, want a Terminated (SIGKILL) event and one restart", eventTypes(state), state.Restarts)
			}
		})
	}
}

// TestReattachedTaskTemplatesStayLive restarts the client under a running
// task whose template reads a variable: after re-attaching, a change of the
// variable still reaches the file and its change_mode (a signal).
func TestReattachedTaskTemplatesStayLive(t *testing.T) {
	servers := clienttest.NewServers()
	servers.PutVar("default", "app/db", map[string]string{"pw": "one"})
	dir := t.TempDir()
	h1 := startClient(t, servers, dir)
	task := clienttest.ShellTask("web", `trap 'echo "usr1 $(cat "$NOMAD_TASK_DIR/pw")"' USR1; echo pid=$$; while true; do sleep 0.05; done`)
	task.Templates = []*api.Template{{EmbeddedTmpl: ptr(`{{ with nomadVar "app/db" }}{{ .pw }}{{ end }}`), DestPath: ptr("local/pw"),
		ChangeMode: ptr("signal"), ChangeSignal: ptr("SIGUSR1")}}
	alloc := clienttest.Alloc(h1.client.Node().ID, "service", task)
	alloc.Namespace = "default"
	servers.PutAlloc(alloc)
	h1.waitStatus(alloc.ID, "running")
	h1.waitLog(alloc.ID, "web", "pid=")
	h1.stop()

	h2 := startClient(t, servers, dir)
	defer h2.stopAlloc(alloc.ID)
	waitFor(t, "re-attach", func() bool {
		ar, err := h2.client.AllocRunner(alloc.ID)
		return err == nil && ar.TaskStates()["web"] != nil && ar.TaskStates()["web"].State == "running"
	})
	servers.PutVar("default", "app/db", map[string]string{"pw": "two"})
	h2.waitLog(alloc.ID, "web", "usr1 two")
}

func ptr[T any](v T) *T { return &v }
