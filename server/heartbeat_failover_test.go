package server

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/roam-project/roam/structs"
)

// TestNewLeaderGivesNodesTheFailoverTTL: after a leadership change a node
// that has not heartbeated yet is not marked down on its short TTL, only
// once the failover TTL is over.
func TestNewLeaderGivesNodesTheFailoverTTL(t *testing.T) {
	const grace, failover = 100 * time.Millisecond, 2 * time.Second
	s, err := New(Config{
		NodeName: "failover.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1,
		HeartbeatGrace: grace, MinHeartbeatTTL: grace, FailoverHeartbeatTTL: failover,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	waitFor(t, "leadership", s.IsLeader)
	if _, err := s.RegisterNode(testNode("quiet", 4096)); err != nil {
		t.Fatal(err)
	}
	// The loops restart as on a new leader; the node stays silent.
	s.revokeLeadership()
	s.establishLeadership()
	start := time.Now()
	status := func() string {
		n, _ := s.State().Snapshot().NodeByID("quiet")
		return n.Status
	}
	cases := []struct {
		name  string
		at    time.Duration
		wantS string
	}{
		{"ready past its own TTL and grace", 4 * grace, structs.NodeStatusReady},
		{"down once the failover TTL is over", failover + time.Second, structs.NodeStatusDown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(time.Until(start.Add(tc.at)))
			if got := status(); got != tc.wantS {
				t.Errorf("status %s after %s, want %s", got, time.Since(start).Round(time.Millisecond), tc.wantS)
			}
		})
	}
}
