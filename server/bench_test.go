package server

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// BenchmarkPlace5000On1000Nodes measures scheduling throughput through the
// whole server path: eval broker, scheduler worker, plan applier and Raft
// commit of a 5,000-allocation batch job over 1,000 nodes.
func BenchmarkPlace5000On1000Nodes(b *testing.B) {
	const nodes, count = 1000, 5000
	s := testServer(b, time.Hour)
	for i := 0; i < nodes; i++ {
		req := &structs.NodeRegisterRequest{Node: testNode(fmt.Sprintf("node-%04d", i), 8192)}
		if _, err := s.raftApply(structs.NodeRegisterRequestType, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var placed int
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("batch-%d", i)
		job := testJob(id, count, 64)
		job.Type = ptr(structs.JobTypeBatch)
		res, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job})
		if err != nil {
			b.Fatal(err)
		}
		for {
			e, _ := s.State().Snapshot().EvalByID(res.EvalID)
			if e != nil && e.Status != structs.EvalStatusPending {
				break
			}
			time.Sleep(time.Millisecond)
		}
		placed += len(liveAllocs(b, s, id))
		b.StopTimer()
		if _, _, err := s.DeregisterJob("", "default", id, true); err != nil {
			b.Fatal(err)
		}
		if err := s.GarbageCollect(""); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	if placed != count*b.N {
		b.Fatalf("placed %d allocations, want %d", placed, count*b.N)
	}
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkPlaceConcurrentServiceJobs measures the plan pipeline under
// contention: 40 service jobs of 250 allocations each, submitted at once
// onto 1,000 nodes, so that the workers' plans queue at the plan applier
// as in a scale run.
func BenchmarkPlaceConcurrentServiceJobs(b *testing.B) {
	benchmarkConcurrentJobs(b, testServer(b, time.Hour), 1000, 40, 250)
}

// BenchmarkPlaceManySmallJobs measures the plan pipeline with many small
// plans, whose Raft entries the applier batches: 400 service jobs of 5
// allocations each, submitted at once onto 200 nodes.
func BenchmarkPlaceManySmallJobs(b *testing.B) {
	benchmarkConcurrentJobs(b, testServer(b, time.Hour), 200, 400, 5)
}

// BenchmarkPlaceManySmallJobsOnDisk is BenchmarkPlaceManySmallJobs with
// Raft's log on disk (BoltDB, synced per write), where each Raft entry
// costs a disk sync and batching plans into fewer entries pays most,
// and with 8 workers, so that plans queue at the applier.
func BenchmarkPlaceManySmallJobsOnDisk(b *testing.B) {
	s, err := New(Config{
		NodeName: "test.global", Region: "global", Datacenter: "dc1", NumSchedulers: 8, DataDir: b.TempDir(),
		HeartbeatGrace: time.Hour, MinHeartbeatTTL: time.Hour,
		Logger: slog.New(slog.NewTextHandler(testLogOutput(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Shutdown)
	waitFor(b, "leadership", func() bool { return s.IsLeader() })
	benchmarkConcurrentJobs(b, s, 200, 400, 5)
}

// benchmarkConcurrentJobs registers jobs service jobs of count allocations
// at once on nodes nodes of s and waits for every allocation, per
// iteration.
func benchmarkConcurrentJobs(b *testing.B, s *Server, nodes, jobs, count int) {
	for i := 0; i < nodes; i++ {
		req := &structs.NodeRegisterRequest{Node: testNode(fmt.Sprintf("node-%04d", i), 1<<20)}
		if _, err := s.raftApply(structs.NodeRegisterRequestType, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var placed int
	var entries uint64
	for i := 0; i < b.N; i++ {
		first := s.raft.AppliedIndex()
		errs := make(chan error, jobs)
		for j := 0; j < jobs; j++ {
			go func() {
				_, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob(fmt.Sprintf("svc-%d-%d", i, j), count, 64)})
				errs <- err
			}()
		}
		for j := 0; j < jobs; j++ {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		deadline := time.Now().Add(2 * time.Minute)
		for n := 0; n < jobs*count; {
			if time.Now().After(deadline) {
				b.Fatalf("placed %d of %d allocations", n, jobs*count)
			}
			time.Sleep(5 * time.Millisecond)
			n = 0
			for j := 0; j < jobs; j++ {
				n += len(liveAllocs(b, s, fmt.Sprintf("svc-%d-%d", i, j)))
			}
		}
		placed += jobs * count
		b.StopTimer()
		entries += s.raft.AppliedIndex() - first
		for j := 0; j < jobs; j++ {
			if _, _, err := s.DeregisterJob("", "default", fmt.Sprintf("svc-%d-%d", i, j), true); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.GarbageCollect(""); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
	b.ReportMetric(float64(entries)/float64(b.N*jobs), "raft-entries/job")
}

// denseStore is a state store of nodes that run perNode allocations each
// (C1M runs 200 per node), and the job they belong to.
func denseStore(b *testing.B, nodes, perNode int) (*state.Store, *api.Job) {
	store, err := state.New()
	if err != nil {
		b.Fatal(err)
	}
	index := uint64(1)
	for i := 0; i < nodes; i++ {
		index++
		if err := store.NodeRegister(index, &structs.NodeRegisterRequest{Node: testNode(fmt.Sprintf("node-%04d", i), 1<<20)}); err != nil {
			b.Fatal(err)
		}
	}
	job := testJob("dense", nodes*perNode, 64)
	index++
	if err := store.JobRegister(index, &structs.JobRegisterRequest{Job: job}); err != nil {
		b.Fatal(err)
	}
	job, _ = store.Snapshot().JobByID("default", "dense")
	for k := 0; k < perNode; k++ {
		index++
		req := &structs.ApplyPlanResultsRequest{Job: job, Time: 1}
		for i := 0; i < nodes; i++ {
			req.Allocs = append(req.Allocs, denseAlloc(job, fmt.Sprintf("a-%d-%d", k, i), fmt.Sprintf("node-%04d", i)))
		}
		if err := store.ApplyPlanResults(index, req); err != nil {
			b.Fatal(err)
		}
	}
	return store, job
}

func denseAlloc(job *api.Job, id, node string) *api.Allocation {
	return &api.Allocation{
		ID: id, Namespace: "default", EvalID: "bench", Name: "dense.web[0]", NodeID: node,
		JobID: *job.ID, Job: job, TaskGroup: "web",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		Resources: &api.Resources{CPU: ptr(10), MemoryMB: ptr(64)},
	}
}

// BenchmarkEvaluatePlanDenseNodes times the plan applier's check of a
// 1,000-allocation plan, one allocation per node, on nodes that run 100
// allocations each: the serial part of every placement.
func BenchmarkEvaluatePlanDenseNodes(b *testing.B) {
	const nodes, perNode = 1000, 100
	store, job := denseStore(b, nodes, perNode)
	plan := &structs.Plan{EvalID: "next", Job: job}
	for i := 0; i < nodes; i++ {
		plan.AppendAlloc(denseAlloc(job, fmt.Sprintf("new-%d", i), fmt.Sprintf("node-%04d", i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		result, err := evaluatePlan(newPlanView(store.Snapshot()), plan)
		if err != nil {
			b.Fatal(err)
		}
		if len(result.NodeAllocation) != nodes {
			b.Fatalf("accepted %d nodes, want %d", len(result.NodeAllocation), nodes)
		}
	}
	b.ReportMetric(float64(nodes*b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkApplyPlanResultsDenseNodes times the state store's commit of a
// 1,000-allocation plan onto nodes that run 100 allocations each: the
// FSM's part of every placement.
func BenchmarkApplyPlanResultsDenseNodes(b *testing.B) {
	const nodes, perNode = 1000, 100
	store, job := denseStore(b, nodes, perNode)
	index := store.Snapshot().LatestIndex()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := &structs.ApplyPlanResultsRequest{Job: job, Time: 1}
		for n := 0; n < nodes; n++ {
			req.Allocs = append(req.Allocs, denseAlloc(job, fmt.Sprintf("new-%d-%d", i, n), fmt.Sprintf("node-%04d", n)))
		}
		index++
		if err := store.ApplyPlanResults(index, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(nodes*b.N)/b.Elapsed().Seconds(), "placements/s")
}
