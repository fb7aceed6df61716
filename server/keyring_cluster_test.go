package server

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

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
