package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func testServer(t testing.TB, grace time.Duration) *Server {
	t.Helper()
	s, err := New(Config{
		NodeName: "test.global", Region: "global", Datacenter: "dc1", NumSchedulers: 2,
		HeartbeatGrace: grace, MinHeartbeatTTL: grace,
		Logger: slog.New(slog.NewTextHandler(testLogOutput(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	waitFor(t, "leadership", func() bool { return s.IsLeader() })
	// Nodes registered before the leader's loops start get the failover
	// heartbeat TTL: tests start from running loops.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testNode(id string, memoryMB int64) *api.Node {
	return &api.Node{
		ID: id, Name: id, Datacenter: "dc1", Status: structs.NodeStatusReady, NodePool: "default",
		SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes:            map[string]string{"kernel.name": "linux", "driver.raw_exec": "1", "unique.network.ip-address": "127.0.0.1"},
		Drivers:               map[string]*api.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodeResources: &api.NodeResources{
			Cpu: api.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 4}, Memory: api.NodeMemoryResources{MemoryMB: memoryMB},
			Disk: api.NodeDiskResources{DiskMB: 10000}, MinDynamicPort: 20000, MaxDynamicPort: 32000,
			Networks: []*api.NetworkResource{{Device: "lo", IP: "127.0.0.1", CIDR: "127.0.0.1/32", MBits: ptr(1000)}},
		},
	}
}

func testJob(id string, count int, memoryMB int) *api.Job {
	job := &api.Job{ID: &id, Name: &id, Datacenters: []string{"dc1"}, TaskGroups: []*api.TaskGroup{{
		Name: ptr("web"), Count: &count,
		Tasks: []*api.Task{{Name: "server", Driver: "raw_exec", Config: map[string]any{"command": "/bin/sleep", "args": []any{"1000"}},
			Resources: &api.Resources{CPU: ptr(100), MemoryMB: &memoryMB}}},
	}}}
	job.Canonicalize()
	return job
}

func liveAllocs(t testing.TB, s *Server, jobID string) []*api.Allocation {
	t.Helper()
	allocs, err := s.State().Snapshot().AllocsByJob("default", jobID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*api.Allocation
	for _, a := range allocs {
		if !structs.AllocTerminal(a) {
			out = append(out, a)
		}
	}
	return out
}

func TestRegisterJobPlacesAllocations(t *testing.T) {
	cases := []struct {
		name  string
		nodes int
		count int
	}{
		{"one node one alloc", 1, 1},
		{"three allocs over two nodes", 2, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Minute)
			for i := 0; i < tc.nodes; i++ {
				if _, err := s.RegisterNode(testNode(fmt.Sprintf("node-%d", i), 4096)); err != nil {
					t.Fatal(err)
				}
			}
			res, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", tc.count, 128)})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "allocations", func() bool { return len(liveAllocs(t, s, "web")) == tc.count })
			waitFor(t, "eval complete", func() bool {
				e, _ := s.State().Snapshot().EvalByID(res.EvalID)
				return e != nil && e.Status == structs.EvalStatusComplete
			})
		})
	}
}

func TestUnplaceableJobBlocksThenPlacesWhenCapacityArrives(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("small", 256)); err != nil {
		t.Fatal(err)
	}
	res, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("big", 1, 1024)})
	if err != nil {
		t.Fatal(err)
	}
	var eval *api.Evaluation
	waitFor(t, "eval with placement failure", func() bool {
		eval, _ = s.State().Snapshot().EvalByID(res.EvalID)
		return eval != nil && eval.Status == structs.EvalStatusComplete
	})
	metric := eval.FailedTGAllocs["web"]
	if metric == nil || metric.DimensionExhausted["memory"] != 1 {
		t.Fatalf("FailedTGAllocs = %+v, want memory exhausted on one node", eval.FailedTGAllocs)
	}
	if eval.BlockedEval == "" {
		t.Fatal("no blocked eval recorded")
	}
	if _, err := s.RegisterNode(testNode("large", 4096)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement on the new node", func() bool {
		allocs := liveAllocs(t, s, "big")
		return len(allocs) == 1 && allocs[0].NodeID == "large"
	})
}

func TestMissedHeartbeatMarksNodeDownAndReplacesAllocs(t *testing.T) {
	s := testServer(t, 300*time.Millisecond)
	if _, err := s.RegisterNode(testNode("doomed", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 1, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	// A second node keeps heartbeating; the first stops.
	if _, err := s.RegisterNode(testNode("survivor", 4096)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				_, _ = s.Heartbeat("survivor")
			}
		}
	}()
	waitFor(t, "node down", func() bool {
		n, _ := s.State().Snapshot().NodeByID("doomed")
		return n.Status == structs.NodeStatusDown
	})
	waitFor(t, "replacement on the survivor", func() bool {
		allocs := liveAllocs(t, s, "web")
		return len(allocs) == 1 && allocs[0].NodeID == "survivor"
	})
	all, _ := s.State().Snapshot().AllocsByJob("default", "web")
	lost := 0
	for _, a := range all {
		if a.ClientStatus == structs.AllocClientStatusLost {
			lost++
		}
	}
	if lost != 1 {
		t.Errorf("lost allocs = %d, want 1", lost)
	}
}

func TestDeregisterStopsAllocations(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 2, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 2 })
	if _, _, err := s.DeregisterJob("", "default", "web", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "allocations stopped", func() bool { return len(liveAllocs(t, s, "web")) == 0 })
}

func TestRegisterRejectsBadInputWithoutStoring(t *testing.T) {
	cases := []struct {
		name string
		job  func() *api.Job
	}{
		{"negative count", func() *api.Job { return testJob("neg", -1, 128) }},
		{"duplicate task names", func() *api.Job {
			j := testJob("dup", 1, 128)
			j.TaskGroups[0].Tasks = append(j.TaskGroups[0].Tasks, j.TaskGroups[0].Tasks[0])
			return j
		}},
		{"unknown driver", func() *api.Job {
			j := testJob("drv", 1, 128)
			j.TaskGroups[0].Tasks[0].Driver = "nope"
			return j
		}},
	}
	s := testServer(t, time.Minute)
	s.config.ValidateTaskConfig = func(driver string, _ map[string]any) error {
		if driver != "raw_exec" {
			return fmt.Errorf("unknown driver %q", driver)
		}
		return nil
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := tc.job()
			if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job}); err == nil {
				t.Fatal("expected an error")
			}
			if j, _ := s.State().Snapshot().JobByID("default", *job.ID); j != nil {
				t.Error("invalid job was stored")
			}
		})
	}
}

// testLogOutput sends server logs to stderr when ROAM_TEST_LOG is set.
func testLogOutput() io.Writer {
	if os.Getenv("ROAM_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
