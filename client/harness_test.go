package client

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/rawexec"
	"github.com/roam-project/roam/internal/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// harness runs one client against fake servers on a data dir.
type harness struct {
	t       *testing.T
	servers *clienttest.Servers
	dataDir string
	client  *Client
	driver  *rawexec.Driver
	done    chan error
	stopped bool
}

func startClient(t *testing.T, servers *clienttest.Servers, dataDir string) *harness {
	t.Helper()
	return startClientWith(t, servers, dataDir, nil)
}

// startClientWith starts a client whose config configure changes first.
func startClientWith(t *testing.T, servers *clienttest.Servers, dataDir string, configure func(*Config)) *harness {
	t.Helper()
	d := rawexec.New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		StateDir: filepath.Join(dataDir, "client"), AllocDir: filepath.Join(dataDir, "alloc"),
		NetworkInterface: "lo", Drivers: map[string]drivers.Driver{"raw_exec": d},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if configure != nil {
		configure(cfg)
	}
	c, err := New(cfg, servers)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, servers: servers, dataDir: dataDir, client: c, driver: d, done: make(chan error, 1)}
	go func() { h.done <- c.Run(context.Background()) }()
	// A client the test left running takes its tasks with it, so that no
	// task outlives the test.
	t.Cleanup(func() {
		if h.stopped {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DestroyAllocs(ctx); err != nil {
			t.Errorf("destroy allocations: %v", err)
		}
		h.stop()
	})
	waitFor(t, "node registered", func() bool { return servers.Node(c.Node().ID) != nil })
	return h
}

// stop shuts the client down (tasks keep running).
func (h *harness) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	if err := h.client.Shutdown(); err != nil {
		h.t.Fatal(err)
	}
	<-h.done
}

// stopAlloc asks the client to stop an alloc and waits until it is terminal.
func (h *harness) stopAlloc(id string) {
	h.servers.StopAlloc(id)
	h.waitStatus(id, "complete", "failed")
}

// waitStatus waits until the servers see the alloc in one of the statuses.
func (h *harness) waitStatus(id string, statuses ...string) *api.Allocation {
	h.t.Helper()
	var a *api.Allocation
	waitFor(h.t, "alloc status "+strings.Join(statuses, "|"), func() bool {
		a = h.servers.Alloc(id)
		for _, s := range statuses {
			if a != nil && a.ClientStatus == s {
				return true
			}
		}
		return false
	})
	return a
}

func (h *harness) logPath(allocID, task string) string {
	return filepath.Join(h.dataDir, "alloc", allocID, "alloc", "logs", task+".stdout.0")
}

func (h *harness) waitLog(allocID, task, want string) string {
	h.t.Helper()
	var data []byte
	waitFor(h.t, "log line "+want, func() bool {
		data, _ = os.ReadFile(h.logPath(allocID, task))
		return strings.Contains(string(data), want)
	})
	return string(data)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eventTypes(s *api.TaskState) []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, e.Type)
	}
	return out
}

func findEvent(s *api.TaskState, typ string) *api.TaskEvent {
	for _, e := range s.Events {
		if e.Type == typ {
			return e
		}
	}
	return nil
}

func countEvents(s *api.TaskState, typ string) int {
	n := 0
	for _, e := range s.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}
