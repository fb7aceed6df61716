package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// BenchmarkLeaderFailover measures, on three server processes with default
// Raft timeouts, the time from killing the leader (SIGKILL) to a surviving
// server accepting a write under a new leader.
func BenchmarkLeaderFailover(b *testing.B) {
	c := startServersOnly(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		leader := c.leader(b, c.servers[0])
		survivor := c.other(leader)
		client := survivor.client(b)
		b.StartTimer()
		start := time.Now()
		leader.kill()
		for {
			_, _, err := client.Jobs().Register(shellJob(fmt.Sprintf("failover-%d", i), "batch", 0, "true"), nil)
			if err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		leader.start(b)
		waitUntil(b, 60*time.Second, "the old leader to rejoin", func() bool {
			peers, err := leader.client(b).Status().Peers()
			return err == nil && len(peers) == 3
		})
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/failover")
}

// BenchmarkJobRegistrations3Servers measures job registrations per second
// through the HTTP API of a three-server cluster, eight writers at once,
// spread over all servers (followers forward to the leader).
func BenchmarkJobRegistrations3Servers(b *testing.B) {
	c := startServersOnly(b)
	clients := make([]*api.Client, len(c.servers))
	for i, s := range c.servers {
		clients[i] = s.client(b)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				job := shellJob(fmt.Sprintf("reg-%d", n), "batch", 0, "true")
				if _, _, err := clients[w%len(clients)].Jobs().Register(job, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkServerMemory10kJobs registers 10,000 jobs on a three-server
// cluster and reports the resident memory of each server process.
func BenchmarkServerMemory10kJobs(b *testing.B) {
	const jobs = 10000
	for i := 0; i < b.N; i++ {
		c := startServersOnly(b)
		client := c.servers[0].client(b)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n := next.Add(1)
					if n > jobs {
						return
					}
					job := shellJob(fmt.Sprintf("mem-%d", n), "service", 1, "sleep 1000")
					if _, _, err := client.Jobs().Register(job, nil); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		var maxRSS float64
		for _, s := range c.servers {
			waitUntil(b, 60*time.Second, "every server to hold all jobs", func() bool {
				list, _, err := s.client(b).Jobs().List(&api.QueryOptions{AllowStale: true})
				return err == nil && len(list) == jobs
			})
			maxRSS = max(maxRSS, rssMB(b, s.cmd.Process.Pid))
		}
		b.ReportMetric(maxRSS, "MB-RSS/server")
		for _, s := range c.servers {
			s.stop()
		}
	}
}

// rssMB reads a process's resident set size from /proc.
func rssMB(t testing.TB, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}
