package server

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// beater heartbeats a node every 100ms while on, until the test ends.
type beater struct{ on atomic.Bool }

func startBeating(t *testing.T, s *Server, nodeID string) *beater {
	b := &beater{}
	b.on.Store(true)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if b.on.Load() {
					_, _ = s.Heartbeat(nodeID)
				}
			}
		}
	}()
	return b
}

// disconnectJob is a one-alloc job whose group tolerates a disconnect of
// lostAfter and reconciles with option.
func disconnectJob(id string, lostAfter time.Duration, option string) *api.Job {
	job := testJob(id, 1, 128)
	job.TaskGroups[0].Disconnect = &api.DisconnectStrategy{LostAfter: &lostAfter, Reconcile: &option}
	job.Canonicalize()
	return job
}

// reportRunning reports the allocation running, as its client would.
func reportRunning(t *testing.T, s *Server, a *api.Allocation) {
	t.Helper()
	update := &api.Allocation{ID: a.ID, NodeID: a.NodeID, ClientStatus: structs.AllocClientStatusRunning,
		TaskStates: map[string]*api.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: time.Now()}}}
	if err := s.UpdateAllocations([]*api.Allocation{update}); err != nil {
		t.Fatal(err)
	}
}

func nodeStatus(s *Server, id string) string {
	n, _ := s.State().Snapshot().NodeByID(id)
	if n == nil {
		return ""
	}
	return n.Status
}

func allocByID(s *Server, id string) *api.Allocation {
	a, _ := s.State().Snapshot().AllocByID(id)
	return a
}

// disconnectWithReplacement runs job on node "flaky", stops flaky's
// heartbeats and waits for the original to go unknown and a replacement
// to run on "survivor". It returns the original, the replacement and
// flaky's beater.
func disconnectWithReplacement(t *testing.T, s *Server, job *api.Job) (orig, repl *api.Allocation, flaky *beater) {
	t.Helper()
	if _, err := s.RegisterNode(testNode("flaky", 4096)); err != nil {
		t.Fatal(err)
	}
	flaky = startBeating(t, s, "flaky")
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, *job.ID)) == 1 })
	orig = liveAllocs(t, s, *job.ID)[0]
	reportRunning(t, s, orig)
	if _, err := s.RegisterNode(testNode("survivor", 4096)); err != nil {
		t.Fatal(err)
	}
	startBeating(t, s, "survivor")

	flaky.on.Store(false)
	waitFor(t, "node disconnected", func() bool { return nodeStatus(s, "flaky") == api.NodeStatusDisconnected })
	waitFor(t, "original unknown", func() bool {
		return allocByID(s, orig.ID).ClientStatus == structs.AllocClientStatusUnknown
	})
	waitFor(t, "replacement on the survivor", func() bool {
		live := liveAllocs(t, s, *job.ID)
		i := slices.IndexFunc(live, func(a *api.Allocation) bool { return a.PreviousAllocation == orig.ID })
		if i < 0 {
			return false
		}
		repl = live[i]
		return repl.NodeID == "survivor"
	})
	reportRunning(t, s, repl)
	return orig, repl, flaky
}

// TestDisconnectedNodeReconnects: a node with a lost_after group stops
// heartbeating; its alloc goes unknown and is replaced; the node comes
// back and exactly one of the two allocs keeps running, per reconcile.
func TestDisconnectedNodeReconnects(t *testing.T) {
	cases := []struct {
		name     string
		option   string
		keepOrig bool
	}{
		{"keep_original", api.ReconcileOptionKeepOriginal, true},
		{"keep_replacement", api.ReconcileOptionKeepReplacement, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, 300*time.Millisecond)
			orig, repl, flaky := disconnectWithReplacement(t, s, disconnectJob("web", time.Minute, tc.option))
			kept, stopped := orig.ID, repl.ID
			if !tc.keepOrig {
				kept, stopped = repl.ID, orig.ID
			}

			flaky.on.Store(true)
			waitFor(t, "node ready", func() bool { return nodeStatus(s, "flaky") == structs.NodeStatusReady })
			waitFor(t, "one survivor", func() bool {
				live := liveAllocs(t, s, "web")
				return len(live) == 1 && live[0].ID == kept
			})
			if a := allocByID(s, kept); a.ClientStatus != structs.AllocClientStatusRunning {
				t.Errorf("survivor client status %q, want running", a.ClientStatus)
			}
			if a := allocByID(s, stopped); a.DesiredStatus != structs.AllocDesiredStatusStop {
				t.Errorf("other alloc desired status %q, want stop", a.DesiredStatus)
			}
		})
	}
}

// TestDisconnectedNodeGoesDownAfterLostAfter: a node that stays away past
// lost_after is marked down and its unknown alloc lost, while the
// replacement keeps running.
func TestDisconnectedNodeGoesDownAfterLostAfter(t *testing.T) {
	s := testServer(t, 300*time.Millisecond)
	orig, repl, _ := disconnectWithReplacement(t, s, disconnectJob("web", 2*time.Second, api.ReconcileOptionBestScore))
	waitFor(t, "node down", func() bool { return nodeStatus(s, "flaky") == structs.NodeStatusDown })
	waitFor(t, "original lost", func() bool {
		return allocByID(s, orig.ID).ClientStatus == structs.AllocClientStatusLost
	})
	if live := liveAllocs(t, s, "web"); len(live) != 1 || live[0].ID != repl.ID {
		t.Errorf("live allocs %d, want only the replacement", len(live))
	}
}

// TestNodeDownKeepsNeverReplacedAllocUnknown: with replace = false and no
// lost_after, a node that misses its heartbeat is down at once, but its
// alloc is only marked unknown, not replaced, and runs again when the
// node is back.
func TestNodeDownKeepsNeverReplacedAllocUnknown(t *testing.T) {
	s := testServer(t, 300*time.Millisecond)
	if _, err := s.RegisterNode(testNode("flaky", 4096)); err != nil {
		t.Fatal(err)
	}
	flaky := startBeating(t, s, "flaky")
	job := testJob("web", 1, 128)
	job.TaskGroups[0].Disconnect = &api.DisconnectStrategy{Replace: ptr(false)}
	job.Canonicalize()
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	orig := liveAllocs(t, s, "web")[0]
	reportRunning(t, s, orig)
	if _, err := s.RegisterNode(testNode("survivor", 4096)); err != nil {
		t.Fatal(err)
	}
	startBeating(t, s, "survivor")

	flaky.on.Store(false)
	waitFor(t, "node down", func() bool { return nodeStatus(s, "flaky") == structs.NodeStatusDown })
	waitFor(t, "original unknown", func() bool {
		return allocByID(s, orig.ID).ClientStatus == structs.AllocClientStatusUnknown
	})
	if live := liveAllocs(t, s, "web"); len(live) != 1 || live[0].ID != orig.ID {
		t.Fatalf("live allocs %d, want only the unknown original", len(live))
	}
	flaky.on.Store(true)
	waitFor(t, "original running again", func() bool {
		return allocByID(s, orig.ID).ClientStatus == structs.AllocClientStatusRunning
	})
	if live := liveAllocs(t, s, "web"); len(live) != 1 || live[0].ID != orig.ID {
		t.Errorf("live allocs %d, want only the original", len(live))
	}
}
