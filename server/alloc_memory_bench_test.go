package server

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// BenchmarkAllocMemory measures the server's heap per allocation: 100,000
// allocations of 1,000 jobs placed over 1,000 nodes through the whole path
// (broker, scheduler, plan applier, Raft on disk, FSM), each then reported
// running by its client as the node simulator does. The figure is the
// live heap after a collection, less the heap with the nodes alone,
// divided by the allocations. Run it with -benchtime 1x.
func BenchmarkAllocMemory(b *testing.B) {
	const nodes, jobs, perJob = 1000, 1000, 100
	for i := 0; i < b.N; i++ {
		perAlloc := allocHeapBytes(b, nodes, jobs, perJob, false)
		b.ReportMetric(perAlloc, "heap-bytes/alloc")
	}
}

// BenchmarkAllocMemoryTaskEvents is BenchmarkAllocMemory with each task's
// events reported as well, as the real client reports them once the task
// runs (received, task setup, started).
func BenchmarkAllocMemoryTaskEvents(b *testing.B) {
	const nodes, jobs, perJob = 1000, 1000, 100
	for i := 0; i < b.N; i++ {
		perAlloc := allocHeapBytes(b, nodes, jobs, perJob, true)
		b.ReportMetric(perAlloc, "heap-bytes/alloc")
	}
}

// TestAllocMemoryBound keeps the heap per allocation (10,000 of 100 jobs
// on 200 nodes, each task with the events a client reports: 2,156 bytes
// measured, with the fixed costs of so few) under a
// bound that leaves 1,000,000 allocations under the 4 GiB, garbage
// collector headroom included.
func TestAllocMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("places 10,000 allocations")
	}
	const bound = 3000
	if got := allocHeapBytes(t, 200, 100, 100, true); got > bound {
		t.Fatalf("%.0f heap bytes per allocation, want at most %d", got, bound)
	} else {
		t.Logf("%.0f heap bytes per allocation", got)
	}
}

// allocHeapBytes places jobs×perJob allocations over nodes on a fresh
// server with its Raft log on disk, and returns the heap they add; with
// events, their clients report their tasks' events.
func allocHeapBytes(t testing.TB, nodes, jobs, perJob int, events bool) float64 {
	t.Helper()
	s, err := New(Config{
		NodeName: "mem.global", Region: "global", Datacenter: "dc1", DataDir: t.TempDir(),
		BootstrapExpect: 1, NumSchedulers: 2, HeartbeatGrace: time.Hour, MinHeartbeatTTL: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	waitFor(t, "leadership", func() bool { return s.IsLeader() })
	for i := 0; i < nodes; i++ {
		node := testNode(fmt.Sprintf("node-%04d", i), 1<<20)
		node.NodeResources.Cpu.CpuShares = 1 << 20
		node.NodeResources.Disk.DiskMB = 1 << 30
		req := &structs.NodeRegisterRequest{Node: node}
		if _, err := s.raftApply(structs.NodeRegisterRequestType, req); err != nil {
			t.Fatal(err)
		}
	}
	before := liveHeap()
	var evals []string
	for j := 0; j < jobs; j++ {
		res, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob(fmt.Sprintf("job-%04d", j), perJob, 10)})
		if err != nil {
			t.Fatal(err)
		}
		evals = append(evals, res.EvalID)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for _, id := range evals {
		for {
			e, _ := s.State().Snapshot().EvalByID(id)
			if e != nil && e.Status != structs.EvalStatusPending {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("evaluation %s still pending", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	allocs, err := s.State().Snapshot().Allocs("")
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != jobs*perJob {
		t.Fatalf("placed %d allocations, want %d", len(allocs), jobs*perJob)
	}
	reportAllRunning(t, s, allocs, events)
	after := liveHeap()
	return float64(after-before) / float64(len(allocs))
}

// reportAllRunning reports every allocation running, as a client would: the
// task's state (with its events when events is set; the node simulator
// leaves them out), in batches of one node's worth.
func reportAllRunning(t testing.TB, s *Server, allocs []*api.Allocation, events bool) {
	t.Helper()
	now := time.Now()
	const batch = 100
	for i := 0; i < len(allocs); i += batch {
		req := &structs.AllocClientUpdateRequest{Time: now.UnixNano()}
		for _, a := range allocs[i:min(i+batch, len(allocs))] {
			states := map[string]*api.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: now}}
			if events {
				states["server"].Events = runningTaskEvents(now)
			}
			req.Allocs = append(req.Allocs, &api.Allocation{ID: a.ID, NodeID: a.NodeID, ClientStatus: structs.AllocClientStatusRunning, TaskStates: states})
		}
		if _, err := s.raftApply(structs.AllocClientUpdateRequestType, req); err != nil {
			t.Fatal(err)
		}
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// runningTaskEvents are the events the client reports for a task that
// started at now (client/taskrunner/events.go).
func runningTaskEvents(now time.Time) []*api.TaskEvent {
	at := now.UnixNano()
	return []*api.TaskEvent{
		{Type: api.TaskReceived, Time: at, DisplayMessage: "Task received by client", Details: map[string]string{}},
		{Type: api.TaskSetup, Time: at + 1e6, DisplayMessage: "Building Task Directory", Message: "Building Task Directory", Details: map[string]string{}},
		{Type: api.TaskStarted, Time: at + 250e6, DisplayMessage: "Task started by client", Details: map[string]string{}},
	}
}
