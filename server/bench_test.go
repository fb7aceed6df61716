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
