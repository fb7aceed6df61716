package e2e

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/benchscale"
)

// TestScaleSmall is the scale run at CI size: a server process, simulated
// nodes over the client RPC protocol and jobs through the HTTP API. Every
// allocation must reach running and no evaluation may be left pending or
// blocked; the leader, killed with SIGKILL, must come back with that state.
// ROAM_SCALE_NODES and ROAM_SCALE_ALLOCS resize it.
func TestScaleSmall(t *testing.T) {
	cfg := benchscale.Config{
		Roam: roamBin, Dir: t.TempDir(), Servers: 1,
		Nodes: envInt("ROAM_SCALE_NODES", 200), Jobs: 20, BatchJobs: 4,
		Allocs:     envInt("ROAM_SCALE_ALLOCS", 2000),
		Submitters: 4, Failover: true, Timeout: 5 * time.Minute,
	}
	rep, err := benchscale.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Placed != int64(cfg.Allocs) || rep.Unplaced != 0 {
		t.Fatalf("%d of %d allocations placed (%d not running per the job summaries)", rep.Placed, cfg.Allocs, rep.Unplaced)
	}
	if rep.PendingEvals != 0 || rep.BlockedEvals != 0 {
		t.Fatalf("%d evaluations pending, %d blocked", rep.PendingEvals, rep.BlockedEvals)
	}
	if rep.LeaderReady <= 0 {
		t.Fatal("the restarted leader was never ready")
	}
	t.Logf("%d allocations on %d nodes: %.0f placements/s, leader back in %s",
		rep.Placed, cfg.Nodes, rep.PlacementsPerSec(), rep.LeaderReady.Round(time.Millisecond))
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
