package server

import (
	"fmt"
	"testing"
	"time"

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
	const nodes, jobs, count = 1000, 40, 250
	s := testServer(b, time.Hour)
	for i := 0; i < nodes; i++ {
		req := &structs.NodeRegisterRequest{Node: testNode(fmt.Sprintf("node-%04d", i), 1<<20)}
		if _, err := s.raftApply(structs.NodeRegisterRequestType, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var placed int
	for i := 0; i < b.N; i++ {
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
}
