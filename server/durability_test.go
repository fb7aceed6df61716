package server

import (
	"fmt"
	"github.com/roam-project/roam/structs"
	"io"
	"log/slog"
	"net"
	"testing"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRestartRecoversFromSnapshotAndLog restarts a server from its data
// dir after a Raft snapshot and further log entries: everything committed
// before the restart, on either side of the snapshot, is there after it.
func TestRestartRecoversFromSnapshotAndLog(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	start := func() *Server {
		s, err := New(Config{
			NodeName: "durable.global", Region: "global", Datacenter: "dc1", DataDir: dir,
			RPCAddr: addr, NumSchedulers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "leadership", func() bool { return s.IsLeader() })
		return s
	}
	s := start()
	for i := 0; i < 5; i++ {
		if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob(fmt.Sprintf("before-%d", i), 1, 64)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatalf("take raft snapshot: %v", err)
	}
	for i := 0; i < 5; i++ {
		if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob(fmt.Sprintf("after-%d", i), 1, 64)}); err != nil {
			t.Fatal(err)
		}
	}
	index := s.State().Snapshot().LatestIndex()
	s.Shutdown()

	s = start()
	defer s.Shutdown()
	waitFor(t, "state replayed", func() bool { return s.State().Snapshot().LatestIndex() >= index })
	snap := s.State().Snapshot()
	for _, prefix := range []string{"before", "after"} {
		for i := 0; i < 5; i++ {
			id := fmt.Sprintf("%s-%d", prefix, i)
			if j, _ := snap.JobByID("default", id); j == nil {
				t.Errorf("job %s lost across the restart", id)
			}
		}
	}
	evals, _ := snap.Evals("")
	if len(evals) < 10 {
		t.Errorf("evaluations lost across the restart: %d", len(evals))
	}
}
