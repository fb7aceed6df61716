package server

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// testCluster is three in-process servers on loopback with data dirs, any
// of which a test can stop and start again.
type testCluster struct {
	configs []Config
	servers []*Server
}

func startTestCluster(t *testing.T) *testCluster {
	t.Helper()
	c := &testCluster{}
	var serfAddrs []string
	for i := 0; i < 3; i++ {
		cfg := Config{
			NodeName: fmt.Sprintf("s%d.global", i), Region: "global", Datacenter: "dc1",
			DataDir: t.TempDir(), RPCAddr: freeAddr(t), SerfAddr: freeAddr(t),
			BootstrapExpect: 3, NumSchedulers: 1, RetryInterval: 200 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		serfAddrs = append(serfAddrs, cfg.SerfAddr)
		c.configs = append(c.configs, cfg)
	}
	for i := range c.configs {
		for j, a := range serfAddrs {
			if j != i {
				c.configs[i].RetryJoin = append(c.configs[i].RetryJoin, a)
			}
		}
	}
	c.servers = make([]*Server, 3)
	for i := range c.configs {
		c.start(t, i)
	}
	t.Cleanup(func() {
		for i := range c.servers {
			c.stop(i)
		}
	})
	c.leader(t)
	return c
}

func (c *testCluster) start(t *testing.T, i int) {
	t.Helper()
	s, err := New(c.configs[i])
	if err != nil {
		t.Fatalf("start %s: %v", c.configs[i].NodeName, err)
	}
	c.servers[i] = s
}

func (c *testCluster) stop(i int) {
	if c.servers[i] != nil {
		c.servers[i].Shutdown()
		c.servers[i] = nil
	}
}

// leader waits for a live server to lead with its loops running.
func (c *testCluster) leader(t *testing.T) int {
	t.Helper()
	var leader int
	waitFor(t, "a leader", func() bool {
		for i, s := range c.servers {
			if s != nil && s.IsLeader() && s.VerifyLeader() == nil {
				leader = i
				return true
			}
		}
		return false
	})
	return leader
}

// TestVarsReadableOnEveryServerAcrossRestarts writes a variable through
// each new leader, stops that leader and starts it again, and reads every
// variable written so far on every live server from its own state: no
// read may fail, whichever server sealed the variable and whichever
// servers were down since.
func TestVarsReadableOnEveryServerAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("three-server cluster test")
	}
	c := startTestCluster(t)
	written := map[string]string{}
	reads, failures := 0, 0
	readAll := func(i int) {
		s := c.servers[i]
		for path, want := range written {
			var v *structs.Var
			waitFor(t, fmt.Sprintf("%s on %s", path, s.config.NodeName), func() bool {
				v, _ = s.State().Snapshot().VarGet("default", path)
				return v != nil
			})
			reads++
			got, err := s.OpenVar(v)
			if err != nil || got.Items["v"] != want {
				failures++
				t.Errorf("read %s on %s: %v (items %v)", path, s.config.NodeName, err, got)
			}
		}
	}
	for round := 0; round < 3; round++ {
		leader := c.leader(t)
		path := fmt.Sprintf("app/round-%d", round)
		written[path] = fmt.Sprint(round)
		putVar(t, c.servers[leader], structs.VarOpSet, 0, path, map[string]string{"v": written[path]})
		c.stop(leader)
		c.leader(t)
		for i := range c.servers {
			if c.servers[i] != nil {
				readAll(i)
			}
		}
		c.start(t, leader)
		readAll(leader)
	}
	t.Logf("%d reads across 3 leader restarts, %d failed", reads, failures)
}

// TestForwardWaitsForTheNextLeader stops the leader and at once sends a
// write to a follower: the follower's forwarding waits for the election
// and hands the write to the new leader instead of failing.
func TestForwardWaitsForTheNextLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("three-server cluster test")
	}
	c := startTestCluster(t)
	leader := c.leader(t)
	putVar(t, c.servers[leader], structs.VarOpSet, 0, "app/before", map[string]string{"v": "1"})
	follower := (leader + 1) % 3
	c.stop(leader)
	start := time.Now()
	reply, err := c.servers[follower].ApplyVar(&structs.VarApplyArgs{Op: structs.VarOpSet,
		Var: &api.Variable{Path: "app/after", Items: api.VariableItems{"v": "2"}}})
	if err != nil {
		t.Fatalf("write through a follower during the election: %v", err)
	}
	if reply.Output == nil || reply.Output.Items["v"] != "2" {
		t.Fatalf("reply = %+v", reply)
	}
	t.Logf("write taken by the new leader %s after the old one stopped", time.Since(start).Round(time.Millisecond))
}

func TestRaftMultiplierScalesTimeouts(t *testing.T) {
	cases := []struct {
		name       string
		multiplier int
		want       time.Duration
	}{
		{"default", 0, 500 * time.Millisecond},
		{"one", 1, 500 * time.Millisecond},
		{"slow network", 4, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{NodeName: "raft.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1,
				RaftMultiplier: tc.multiplier, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown()
			rc := s.raft.ReloadableConfig()
			if rc.HeartbeatTimeout != tc.want || rc.ElectionTimeout != tc.want {
				t.Fatalf("heartbeat, election timeouts = %s, %s; want %s", rc.HeartbeatTimeout, rc.ElectionTimeout, tc.want)
			}
		})
	}
}
