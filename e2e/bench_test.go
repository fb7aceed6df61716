package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// BenchmarkSubmitToRunning measures, on a dev agent, the time from
// registering a one-task raw_exec job to its allocation reported running,
// following the allocation with blocking queries as a client would.
func BenchmarkSubmitToRunning(b *testing.B) {
	a := startDevAgent(b, "")
	jobs := a.client.Jobs()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("lat-%d", i)
		job := shellJob(id, "service", 1, "exec sleep 600")
		start := time.Now()
		if _, _, err := jobs.Register(job, nil); err != nil {
			b.Fatal(err)
		}
		var index uint64
		for {
			allocs, meta, err := jobs.Allocations(id, false, &api.QueryOptions{WaitIndex: index, WaitTime: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			index = meta.LastIndex
			if len(allocs) == 1 && allocs[0].ClientStatus == "running" {
				break
			}
		}
		total += time.Since(start)
		b.StopTimer()
		if _, _, err := jobs.Deregister(id, true, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/submit-to-running")
}
