// Package benchscale is Roam's scale run: it starts one or three server
// processes on loopback, brings up simulated client nodes (nodesim), submits
// jobs through the HTTP API and measures what an operator cares about:
// placements per second, plan and Raft latencies, broker depth, server
// memory, heartbeat load and the time a new leader takes to be ready.
package benchscale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/internal/nodesim"
)

// Config sizes a run.
type Config struct {
	// Roam is the roam binary the servers run.
	Roam string
	// Dir holds the servers' data and logs.
	Dir string
	// Servers is 1 or 3.
	Servers int
	// Nodes is the number of simulated nodes.
	Nodes int
	// Jobs and Allocs: Allocs allocations over Jobs jobs, of which
	// BatchJobs are batch jobs (the rest services).
	Jobs, Allocs, BatchJobs int
	// Submitters is how many jobs are submitted at once.
	Submitters int
	// Idle is how long the idle heartbeat load is measured after placement
	// (0: skipped).
	Idle time.Duration
	// Failover kills the leader at the end and times its successor.
	Failover bool
	// Timeout bounds the placement phase.
	Timeout time.Duration
	// Progress receives a line per sample while allocations are placed.
	Progress io.Writer
}

// Report is what a run measured.
type Report struct {
	Config
	// Placed is the allocations running (or complete) as the simulator saw
	// them, Elapsed the time from the first submission to the last.
	Placed  int64
	Elapsed time.Duration
	// NodesUp is the time all nodes took to register.
	NodesUp time.Duration
	// PendingEvals and BlockedEvals are left after placement.
	PendingEvals, BlockedEvals int
	// Evals counts the evaluations by what triggered them and their status.
	Evals map[string]int
	// Unplaced is the allocations the job summaries do not count as
	// running or complete.
	Unplaced int
	// MaxBrokerReady is the largest broker depth seen.
	MaxBrokerReady int
	// RSS is the leader's resident memory at the end of placement.
	RSS int64
	// PlaceCPU is the CPU time the leader used while placing: on a shared
	// machine, placements per CPU-second say more than per wall second.
	PlaceCPU time.Duration
	// Heartbeats per second and the leader's CPU share (of one core) over
	// the idle window.
	HeartbeatsPerSec, IdleCPUShare float64
	// LeaderReady is the time from kill -9 of the leader to a write
	// accepted by the next one (for one server: the restarted one).
	LeaderReady time.Duration
	// NodesNotReadyAfterFailover is the most nodes the new leader held
	// down (or disconnected) at once in the afterFailover that followed.
	NodesNotReadyAfterFailover int
	// Latencies are the servers' own timings, where they publish them:
	// the median of the p50s and the worst p99 (and p90) of the windows
	// sampled during placement (the Prometheus summaries cover the last
	// ten seconds each), and the count at the end.
	Latencies map[string]Quantiles
	// Samples are the placements over time.
	Samples []Sample
	// Finished is set once every allocation ran; without it the figures
	// are those of the allocations placed before the run stopped, and
	// the idle and failover measures were not taken.
	Finished bool
}

// PlacementsPerSec is the run's headline figure.
func (r *Report) PlacementsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Placed) / r.Elapsed.Seconds()
}

// Sample is one observation during placement.
type Sample struct {
	At                 time.Duration
	Seen, Placed       int64
	BrokerReady        int
	BrokerUnacked      int
	BlockedEvals       int
	RSS                int64
	UpdatesSent, Beats int64
}

// afterFailover is how long the node statuses are watched after a
// failover.
const afterFailover = 30 * time.Second

// sampleEvery is the sampling interval during placement.
const sampleEvery = 250 * time.Millisecond

// Run performs the scale run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Servers != 1 && cfg.Servers != 3 {
		return nil, fmt.Errorf("servers must be 1 or 3, not %d", cfg.Servers)
	}
	if cfg.Jobs <= 0 || cfg.Allocs < cfg.Jobs {
		return nil, fmt.Errorf("need at least one job and one allocation per job (jobs %d, allocs %d)", cfg.Jobs, cfg.Allocs)
	}
	cfg.Submitters = max(cfg.Submitters, 1)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	c, err := startCluster(cfg.Roam, cfg.Dir, cfg.Servers)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	leader, err := c.waitLeader(ctx, 60*time.Second)
	if err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg}

	sim, err := nodesim.New(nodesim.Config{Servers: c.rpcAddrs(), Nodes: cfg.Nodes})
	if err != nil {
		return nil, err
	}
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(simCtx) }()
	defer func() {
		stopSim()
		<-simDone
	}()
	start := time.Now()
	if err := waitFor(ctx, 10*time.Minute, func() bool { return sim.Stats().NodesUp == int64(cfg.Nodes) }); err != nil {
		return nil, fmt.Errorf("nodes up: %d of %d: %w", sim.Stats().NodesUp, cfg.Nodes, err)
	}
	rep.NodesUp = time.Since(start)
	fmt.Fprintf(cfg.Progress, "%d nodes up in %s\n", cfg.Nodes, rep.NodesUp.Round(time.Millisecond))

	jobs := makeJobs(cfg)
	start = time.Now()
	submitErr := make(chan error, 1)
	go func() { submitErr <- submit(ctx, c, jobs, cfg.Submitters) }()
	total := int64(0)
	for _, j := range jobs {
		total += int64(*j.TaskGroups[0].Count)
	}
	err = rep.watchPlacement(ctx, cfg, leader, sim, start, total, submitErr)
	rep.RSS = leader.rssBytes()
	if err != nil {
		return rep, err
	}
	rep.Finished = true
	if err := rep.checkSettled(leader, jobs); err != nil {
		return rep, err
	}
	if cfg.Idle > 0 {
		rep.measureIdle(ctx, leader, sim, cfg.Idle)
	}
	if cfg.Failover {
		next, ready, err := c.failover(ctx, leader)
		if err != nil {
			return rep, err
		}
		rep.LeaderReady = ready
		if rep.NodesNotReadyAfterFailover, err = next.nodesNotReady(ctx, afterFailover); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// watchPlacement samples until every allocation runs (or completes).
func (r *Report) watchPlacement(ctx context.Context, cfg Config, leader *serverProc, sim *nodesim.Sim, start time.Time, total int64, submitErr chan error) error {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	deadline := time.After(cfg.Timeout)
	cpu := leader.cpuTime()
	var windows latencyWindows
	lastScrape := time.Now()
	defer func() {
		windows.add(scrapeLatencies(leader.httpURL))
		r.Latencies = windows.summary()
		r.PlaceCPU = leader.cpuTime() - cpu
	}()
	for {
		if time.Since(lastScrape) >= latencyWindow {
			windows.add(scrapeLatencies(leader.httpURL))
			lastScrape = time.Now()
		}
		st := sim.Stats()
		placed := st.Running + st.Complete
		s := Sample{At: time.Since(start), Seen: st.AllocsSeen, Placed: placed, RSS: leader.rssBytes(), UpdatesSent: st.Updates, Beats: st.Heartbeats}
		s.BrokerReady, s.BrokerUnacked, s.BlockedEvals = brokerStats(leader.httpURL)
		r.MaxBrokerReady = max(r.MaxBrokerReady, s.BrokerReady)
		r.Samples = append(r.Samples, s)
		fmt.Fprintf(cfg.Progress, "%6.1fs placed %d/%d seen %d broker ready %d unacked %d blocked %d rss %d MiB\n",
			s.At.Seconds(), placed, total, s.Seen, s.BrokerReady, s.BrokerUnacked, s.BlockedEvals, s.RSS>>20)
		if placed >= total {
			// The sample may come late (a busy server answers its
			// questions slowly): the nodes know when the last one ran.
			r.Placed, r.Elapsed = placed, min(s.At, st.LastChange.Sub(start))
			return nil
		}
		select {
		case err := <-submitErr:
			if err != nil {
				return err
			}
		case <-tick.C:
		case <-deadline:
			r.Placed, r.Elapsed = placed, s.At
			return fmt.Errorf("after %s only %d of %d allocations run", cfg.Timeout, placed, total)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// checkSettled asks the servers whether anything was left behind: every
// allocation counted running or complete, no evaluation pending or blocked.
func (r *Report) checkSettled(leader *serverProc, jobs []*api.Job) error {
	client, err := leader.client()
	if err != nil {
		return err
	}
	err = waitFor(context.Background(), 30*time.Second, func() bool {
		r.Unplaced = 0
		for _, j := range jobs {
			sum, _, err := client.Jobs().Summary(*j.ID, nil)
			if err != nil {
				r.Unplaced += *j.TaskGroups[0].Count
				continue
			}
			g := sum.Summary[*j.TaskGroups[0].Name]
			r.Unplaced += *j.TaskGroups[0].Count - g.Running - g.Complete
		}
		evals, _, err := client.Evaluations().List(nil)
		if err != nil {
			return false
		}
		r.PendingEvals, r.BlockedEvals = 0, 0
		r.Evals = map[string]int{}
		for _, e := range evals {
			r.Evals[e.TriggeredBy+"/"+e.Status]++
			switch e.Status {
			case "pending":
				r.PendingEvals++
			case "blocked":
				r.BlockedEvals++
			}
		}
		return r.Unplaced == 0 && r.PendingEvals == 0 && r.BlockedEvals == 0
	})
	if err != nil {
		return fmt.Errorf("not settled: %d allocations not running, %d evaluations pending, %d blocked", r.Unplaced, r.PendingEvals, r.BlockedEvals)
	}
	return nil
}

// measureIdle records heartbeats per second and the leader's CPU share
// while nothing else happens.
func (r *Report) measureIdle(ctx context.Context, leader *serverProc, sim *nodesim.Sim, d time.Duration) {
	beats, cpu, at := sim.Stats().Heartbeats, leader.cpuTime(), time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return
	}
	elapsed := time.Since(at)
	r.HeartbeatsPerSec = float64(sim.Stats().Heartbeats-beats) / elapsed.Seconds()
	r.IdleCPUShare = (leader.cpuTime() - cpu).Seconds() / elapsed.Seconds()
}

// waitFor polls cond until it holds or d passes.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// WriteCSV writes the samples: seconds, allocations seen and placed,
// broker depth, blocked evaluations, leader RSS.
func (r *Report) WriteCSV(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "seconds,seen,placed,broker_ready,broker_unacked,blocked_evals,rss_bytes,updates_sent,heartbeats"); err != nil {
		return err
	}
	for _, s := range r.Samples {
		if _, err := fmt.Fprintf(w, "%.3f,%d,%d,%d,%d,%d,%d,%d,%d\n", s.At.Seconds(), s.Seen, s.Placed, s.BrokerReady, s.BrokerUnacked, s.BlockedEvals, s.RSS, s.UpdatesSent, s.Beats); err != nil {
			return err
		}
	}
	return nil
}

// WriteCSVFile writes the samples to path.
func (r *Report) WriteCSVFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteCSV(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSummary prints the figures, one per line.
func (r *Report) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "servers %d, nodes %d, jobs %d (%d batch), allocations %d\n", r.Servers, r.Nodes, r.Jobs, r.BatchJobs, r.Allocs)
	fmt.Fprintf(w, "nodes registered in        %s\n", r.NodesUp.Round(time.Millisecond))
	fmt.Fprintf(w, "placed                     %d in %s: %.0f placements/s\n", r.Placed, r.Elapsed.Round(time.Millisecond), r.PlacementsPerSec())
	if !r.Finished {
		fmt.Fprintf(w, "unfinished                 %d of %d allocations placed when the run stopped; idle and failover not measured\n", r.Placed, r.Allocs)
	}
	fmt.Fprintf(w, "left behind                %d allocations not running, %d evals pending, %d blocked\n", r.Unplaced, r.PendingEvals, r.BlockedEvals)
	fmt.Fprintf(w, "evaluations                %v\n", r.Evals)
	fmt.Fprintf(w, "broker ready, at most      %d\n", r.MaxBrokerReady)
	fmt.Fprintf(w, "leader RSS                 %.2f GiB\n", float64(r.RSS)/(1<<30))
	if r.PlaceCPU > 0 {
		fmt.Fprintf(w, "leader CPU placing         %s: %.0f placements per CPU-second\n", r.PlaceCPU.Round(time.Millisecond), float64(r.Placed)/r.PlaceCPU.Seconds())
	}
	fmt.Fprintln(w, "timers (median p50, worst p90 and p99 of 10 s windows, count):")
	for _, name := range latencyMetrics {
		if q, ok := r.Latencies[name]; ok {
			fmt.Fprintf(w, "%-26s p50 %s p90 %s p99 %s (%d)\n", name, q.P50, q.P90, q.P99, q.Count)
		}
	}
	if r.Idle > 0 && r.Finished {
		fmt.Fprintf(w, "idle: heartbeats/s         %.1f, leader CPU %.1f%% of one core\n", r.HeartbeatsPerSec, 100*r.IdleCPUShare)
	}
	if r.Failover && r.Finished {
		fmt.Fprintf(w, "leader ready after kill -9 %s\n", r.LeaderReady.Round(time.Millisecond))
		fmt.Fprintf(w, "nodes not ready after it   %d at most, over %s\n", r.NodesNotReadyAfterFailover, afterFailover)
	}
}
