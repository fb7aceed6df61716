package client

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocrunner"
	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/client/state"
)

// beatTTL makes the client heartbeat often, so that a partition is noticed
// quickly.
const beatTTL = 200 * time.Millisecond

// longTask runs until interrupted and exits cleanly then.
const longTask = `trap 'exit 0' INT TERM; echo ready; while true; do sleep 0.05; done`

// disconnectAlloc is a service alloc of one long task whose group is
// shaped by setup.
func disconnectAlloc(nodeID string, setup func(tg *api.TaskGroup)) *api.Allocation {
	a := clienttest.Alloc(nodeID, "service", clienttest.ShellTask("web", longTask))
	if setup != nil {
		setup(a.Job.TaskGroups[0])
	}
	return a
}

func stopOnClientAfter(d time.Duration) func(*api.TaskGroup) {
	return func(tg *api.TaskGroup) { tg.Disconnect = &api.DisconnectStrategy{StopOnClientAfter: &d} }
}

func stopAfterClientDisconnect(d time.Duration) func(*api.TaskGroup) {
	return func(tg *api.TaskGroup) { tg.StopAfterClientDisconnect = &d }
}

func TestPartitionStopsAndResends(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(*api.TaskGroup)
		batch      bool   // a batch job whose task finishes before the partition
		wantStatus string // what the servers see after the partition heals
		wantKilled bool
	}{
		{"disconnect.stop_on_client_after stops the alloc", stopOnClientAfter(time.Second), false, "complete", true},
		{"stop_after_client_disconnect stops the alloc", stopAfterClientDisconnect(time.Second), false, "complete", true},
		{"a window longer than the partition keeps the alloc", stopOnClientAfter(time.Hour), false, "running", false},
		{"no window keeps the alloc", nil, false, "running", false},
		{"a finished alloc is reported finished again", stopOnClientAfter(time.Second), true, "complete", false},
	}
	servers := clienttest.NewServers()
	servers.SetHeartbeatTTL(beatTTL)
	h := startClient(t, servers, t.TempDir())
	nodeID := h.client.Node().ID
	ids := make([]string, len(cases))
	for i, tc := range cases {
		a := disconnectAlloc(nodeID, tc.setup)
		want := "running"
		if tc.batch {
			a = clienttest.Alloc(nodeID, "batch", clienttest.ShellTask("web", "echo done"))
			tc.setup(a.Job.TaskGroups[0])
			want = "complete"
		}
		servers.PutAlloc(a)
		ids[i] = a.ID
		h.waitStatus(a.ID, want)
	}

	servers.Partition(true)
	for _, id := range ids {
		servers.SetClientStatus(id, "unknown", "alloc is unknown since its node is disconnected")
	}
	for i, tc := range cases {
		if !tc.wantKilled {
			continue
		}
		ar, err := h.client.AllocRunner(ids[i])
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, tc.name+": tasks stopped while partitioned", ar.IsTerminal)
	}
	servers.Partition(false)

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			final := h.waitStatus(ids[i], tc.wantStatus)
			state := final.TaskStates["web"]
			killing := findEvent(state, "Killing")
			if tc.wantKilled != (killing != nil) {
				t.Fatalf("Killing event %+v, want one: %v (events %v)", killing, tc.wantKilled, eventTypes(state))
			}
			if tc.wantKilled && killing.KillReason != stopReason(time.Second) {
				t.Fatalf("kill reason %q, want %q", killing.KillReason, stopReason(time.Second))
			}
			if state.Failed {
				t.Fatalf("task marked failed: %v", eventTypes(state))
			}
		})
	}
}

func TestRestartAfterStopWindow(t *testing.T) {
	cases := []struct {
		name       string
		window     time.Duration
		wantKilled bool
	}{
		{"away longer than the window: stopped on restart", 500 * time.Millisecond, true},
		{"away within the window: kept", time.Hour, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			servers := clienttest.NewServers()
			servers.SetHeartbeatTTL(beatTTL)
			dir := t.TempDir()
			h1 := startClient(t, servers, dir)
			alloc := disconnectAlloc(h1.client.Node().ID, stopOnClientAfter(tc.window))
			servers.PutAlloc(alloc)
			h1.waitStatus(alloc.ID, "running")
			h1.waitLog(alloc.ID, "web", "ready")
			h1.stop()
			last := persistedLastContact(t, dir)
			if tc.wantKilled {
				waitFor(t, "the window to pass", func() bool { return time.Since(last) > tc.window })
			}

			h2 := startClient(t, servers, dir)
			var ar *allocrunner.AllocRunner
			waitFor(t, "the alloc to be restored", func() bool {
				ar, _ = h2.client.AllocRunner(alloc.ID)
				return ar != nil
			})
			if !tc.wantKilled {
				defer h2.stopAlloc(alloc.ID)
				waitFor(t, "re-attach to the running task", func() bool {
					stats, err := h2.driver.TaskStats(context.Background(), alloc.ID+"/web")
					return err == nil && len(stats.PIDs) > 0
				})
				if s := ar.TaskStates()["web"]; findEvent(s, "Killing") != nil || s.State != "running" {
					t.Fatalf("kept alloc: state %s, events %v", s.State, eventTypes(s))
				}
				return
			}
			final := h2.waitStatus(alloc.ID, "complete")
			s := final.TaskStates["web"]
			if k := findEvent(s, "Killing"); k == nil || k.KillReason != stopReason(tc.window) {
				t.Fatalf("events %v, want a Killing event for the window", eventTypes(s))
			}
			if got := persistedLastContactOf(t, h2); !got.After(last) {
				t.Fatalf("last contact %v not updated past %v", got, last)
			}
		})
	}
}

// persistedLastContact reads the last contact a stopped client left in
// its state.
func persistedLastContact(t *testing.T, dataDir string) time.Time {
	t.Helper()
	db, err := state.Open(filepath.Join(dataDir, "client", stateFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	last, err := db.LastContact()
	if err != nil || last.IsZero() {
		t.Fatalf("last contact %v, %v", last, err)
	}
	return last
}

// persistedLastContactOf reads a running client's last contact.
func persistedLastContactOf(t *testing.T, h *harness) time.Time {
	t.Helper()
	last, err := h.client.db.LastContact()
	if err != nil {
		t.Fatal(err)
	}
	return last
}

func TestContactTracker(t *testing.T) {
	start := time.Now()
	cases := []struct {
		name    string
		steps   func(tr *contactTracker) bool // returns the last succeeded's answer
		wantGap bool
	}{
		{"first contact is a gap", func(tr *contactTracker) bool { return tr.succeeded(start, time.Second) }, true},
		{"regular beats are no gap", func(tr *contactTracker) bool {
			tr.succeeded(start, time.Second)
			return tr.succeeded(start.Add(500*time.Millisecond), time.Second)
		}, false},
		{"a failure makes a gap", func(tr *contactTracker) bool {
			tr.succeeded(start, time.Second)
			tr.failed()
			return tr.succeeded(start.Add(500*time.Millisecond), time.Second)
		}, true},
		{"a beat later than the TTL is a gap", func(tr *contactTracker) bool {
			tr.succeeded(start, time.Second)
			return tr.succeeded(start.Add(2*time.Second), time.Second)
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			tr, err := newContactTracker(db, slog.New(slog.NewTextHandler(io.Discard, nil)), start)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.steps(tr); got != tc.wantGap {
				t.Fatalf("gap = %v, want %v", got, tc.wantGap)
			}
			if got, _ := db.LastContact(); !got.Equal(tr.lastContact()) {
				t.Fatalf("persisted %v, tracked %v", got, tr.lastContact())
			}
		})
	}
}

func TestStopAfter(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*api.TaskGroup)
		want  time.Duration
	}{
		{"none", nil, 0},
		{"disconnect block", stopOnClientAfter(time.Minute), time.Minute},
		{"legacy field", stopAfterClientDisconnect(2 * time.Minute), 2 * time.Minute},
		{"disconnect block wins", func(tg *api.TaskGroup) {
			stopAfterClientDisconnect(2 * time.Minute)(tg)
			stopOnClientAfter(time.Minute)(tg)
		}, time.Minute},
		{"lost_after alone", func(tg *api.TaskGroup) {
			d := time.Minute
			tg.Disconnect = &api.DisconnectStrategy{LostAfter: &d}
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := stopAfter(disconnectAlloc("n", tc.setup)); got != tc.want {
				t.Fatalf("stopAfter = %v, want %v", got, tc.want)
			}
		})
	}
	if got := stopAfter(&api.Allocation{}); got != 0 {
		t.Fatalf("alloc without job: stopAfter = %v, want 0", got)
	}
}

func TestResendAfterHeartbeatsRecover(t *testing.T) {
	cases := []struct {
		name       string
		jobType    string
		script     string
		wantStatus string
	}{
		{"running service alloc", "service", longTask, "running"},
		{"finished batch alloc", "batch", "echo done", "complete"},
	}
	servers := clienttest.NewServers()
	servers.SetHeartbeatTTL(beatTTL)
	h := startClient(t, servers, t.TempDir())
	ids := make([]string, len(cases))
	for i, tc := range cases {
		a := clienttest.Alloc(h.client.Node().ID, tc.jobType, clienttest.ShellTask("web", tc.script))
		servers.PutAlloc(a)
		ids[i] = a.ID
		h.waitStatus(a.ID, tc.wantStatus)
	}
	// Nothing changes on either side during the partition, so the only
	// source of new updates afterwards is the re-send on reconnect.
	servers.Partition(true)
	before := make([]int, len(ids))
	for i, id := range ids {
		before[i] = servers.AllocUpdateCount(id)
	}
	waitFor(t, "the client to miss a heartbeat", func() bool {
		h.client.contact.mu.Lock()
		defer h.client.contact.mu.Unlock()
		return h.client.contact.lost
	})
	servers.Partition(false)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			waitFor(t, "the alloc state to be sent again", func() bool { return servers.AllocUpdateCount(ids[i]) > before[i] })
			if got := servers.Alloc(ids[i]); got.ClientStatus != tc.wantStatus || got.TaskStates["web"] == nil {
				t.Fatalf("servers see %q with tasks %v, want %q", got.ClientStatus, got.TaskStates, tc.wantStatus)
			}
		})
	}
}

func TestUnknownAllocReported(t *testing.T) {
	cases := []struct {
		name       string
		jobType    string
		script     string
		wantStatus string
	}{
		{"running service alloc", "service", longTask, "running"},
		{"finished batch alloc", "batch", "echo done", "complete"},
	}
	servers := clienttest.NewServers()
	h := startClient(t, servers, t.TempDir())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := clienttest.Alloc(h.client.Node().ID, tc.jobType, clienttest.ShellTask("web", tc.script))
			servers.PutAlloc(a)
			h.waitStatus(a.ID, tc.wantStatus)
			// The servers took the node for disconnected while it kept
			// heartbeating from its side.
			servers.SetClientStatus(a.ID, "unknown", "alloc is unknown since its node is disconnected")
			got := h.waitStatus(a.ID, tc.wantStatus)
			if got.TaskStates["web"] == nil {
				t.Fatalf("task states not re-sent: %+v", got.TaskStates)
			}
		})
	}
}
