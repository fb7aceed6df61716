// Command nodesim simulates many Roam (or Nomad-protocol) client nodes in
// one process for scale runs: they register, heartbeat, long-poll their
// allocations and report them running or complete over the client RPC
// protocol, without starting any task. They advertise the raw_exec driver.
// Stop it with Ctrl-C.
//
//	go run ./tools/nodesim -servers 127.0.0.1:4647 -nodes 5000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/roam-project/roam/internal/nodesim"
)

func main() {
	servers := flag.String("servers", "127.0.0.1:4647", "comma-separated server RPC addresses")
	nodes := flag.Int("nodes", 1000, "number of nodes to simulate")
	dcs := flag.Int("datacenters", 1, "spread the nodes over dc1..dcN")
	cpu := flag.Int("cpu", 100_000, "CPU of each node in MHz")
	memory := flag.Int("memory", 256_000, "memory of each node in MiB")
	every := flag.Duration("progress", 5*time.Second, "how often to print progress")
	flag.Parse()

	sim, err := nodesim.New(nodesim.Config{
		Servers: strings.Split(*servers, ","), Nodes: *nodes, Datacenters: *dcs, CPU: *cpu, MemoryMB: *memory,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	tick := time.NewTicker(*every)
	defer tick.Stop()
	last, lastAt := sim.Stats(), time.Now()
	for {
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println("stopped")
			return
		case now := <-tick.C:
			st := sim.Stats()
			rate := float64(st.Updates-last.Updates) / now.Sub(lastAt).Seconds()
			fmt.Printf("%s nodes up %d/%d, allocations seen %d, running %d, complete %d, updates/s %.0f, errors %d\n",
				now.Format(time.TimeOnly), st.NodesUp, *nodes, st.AllocsSeen, st.Running, st.Complete, rate, st.Errors)
			last, lastAt = st, now
		}
	}
}
