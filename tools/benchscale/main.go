// Command benchscale runs Roam's scale benchmark: server processes on
// loopback, simulated client nodes, jobs through the HTTP API. It prints
// the figures and writes the placements over time as CSV and PNG.
// scripts/bench-scale builds roam and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/roam-project/roam/internal/benchscale"
)

func main() {
	var cfg benchscale.Config
	flag.StringVar(&cfg.Roam, "roam", "roam", "the roam binary the servers run")
	flag.IntVar(&cfg.Servers, "servers", 1, "server processes: 1 or 3")
	flag.IntVar(&cfg.Nodes, "nodes", 5000, "simulated client nodes")
	flag.IntVar(&cfg.Jobs, "jobs", 1000, "jobs to submit")
	flag.IntVar(&cfg.Allocs, "allocs", 1_000_000, "allocations over all jobs")
	flag.IntVar(&cfg.BatchJobs, "batch-jobs", 0, "how many of the jobs are batch jobs")
	flag.IntVar(&cfg.Submitters, "submitters", 8, "jobs submitted at once")
	flag.DurationVar(&cfg.Idle, "idle", 30*time.Second, "how long to measure the idle heartbeat load (0: skip)")
	flag.BoolVar(&cfg.Failover, "failover", true, "kill -9 the leader at the end and time the next one")
	flag.DurationVar(&cfg.Timeout, "timeout", 30*time.Minute, "give up placing after this long")
	out := flag.String("out", "bench-scale", "prefix of the CSV and PNG written")
	dir := flag.String("dir", "", "directory for the servers' data (default: a temporary one)")
	flag.Parse()

	if err := run(cfg, *out, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}

func run(cfg benchscale.Config, out, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "roam-bench-scale-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	roam, err := filepath.Abs(cfg.Roam)
	if err != nil {
		return err
	}
	cfg.Roam, cfg.Dir, cfg.Progress = roam, dir, os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, runErr := benchscale.Run(ctx, cfg)
	if rep == nil {
		return runErr
	}
	rep.WriteSummary(os.Stdout)
	if err := rep.WriteCSVFile(out + ".csv"); err != nil {
		return err
	}
	if err := rep.WritePlot(out + ".png"); err != nil {
		return err
	}
	fmt.Printf("wrote %s.csv and %s.png\n", out, out)
	return runErr
}
