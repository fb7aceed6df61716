package server

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// setupRaft builds Raft's stores and transport: in memory for the dev
// agent, BoltDB and file snapshots under DataDir otherwise.
func (s *Server) setupRaft() error {
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(s.config.NodeName)
	conf.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: logWriter{s.logger}})
	// A follower calls an election 1 to 2 heartbeat timeouts after it last
	// heard from the leader, and its pre-vote is refused until the other
	// followers stop hearing from the leader too, so a dead leader is
	// replaced 1 to 2 heartbeat timeouts after its death. On a LAN half a
	// second (Raft's default is 1 s) is ample: the leader heartbeats every
	// 50 ms, and a follower that times out spuriously (a pause) cannot
	// depose a live leader, since pre-vote needs a majority that no longer
	// hears from it. The leader lease stays at Raft's 500 ms. Slower or
	// distant servers raise raft_multiplier.
	mult := time.Duration(max(s.config.RaftMultiplier, 1))
	conf.HeartbeatTimeout = 500 * time.Millisecond * mult
	conf.ElectionTimeout = 500 * time.Millisecond * mult
	conf.LeaderLeaseTimeout = 500 * time.Millisecond * mult
	conf.SnapshotThreshold = 8192
	conf.TrailingLogs = 10240
	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
		trans  raft.Transport
		addr   raft.ServerAddress
	)
	if s.mux != nil {
		network := raft.NewNetworkTransport(s.mux.RaftLayer(), 3, 10*time.Second, logWriter{s.logger})
		s.closers = append(s.closers, network.Close)
		trans, addr = network, network.LocalAddr()
	} else {
		addr, trans = raft.NewInmemTransport(raft.ServerAddress(s.config.NodeName))
	}
	if s.config.DataDir == "" {
		store := raft.NewInmemStore()
		logs, stable = store, store
		snaps = raft.NewInmemSnapshotStore()
	} else {
		dir := filepath.Join(s.config.DataDir, "server", "raft")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create raft dir: %w", err)
		}
		bolt, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			return fmt.Errorf("open raft log: %w", err)
		}
		s.closers = append(s.closers, bolt.Close)
		logs, stable = bolt, bolt
		if snaps, err = raft.NewFileSnapshotStore(dir, 2, logWriter{s.logger}); err != nil {
			return fmt.Errorf("open raft snapshots: %w", err)
		}
	}
	hasState, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fmt.Errorf("read raft state: %w", err)
	}
	if hasState {
		s.bootstrapped.Store(true)
	} else if s.config.BootstrapExpect == 1 {
		boot := raft.Configuration{Servers: []raft.Server{{ID: conf.LocalID, Address: addr}}}
		if err := raft.BootstrapCluster(conf, logs, stable, snaps, trans, boot); err != nil {
			return fmt.Errorf("bootstrap raft: %w", err)
		}
		s.bootstrapped.Store(true)
	}
	r, err := raft.NewRaft(conf, s.fsm, logs, stable, snaps, trans)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	return nil
}

// IsLeader reports whether this server leads the cluster.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the leader's Raft address, "" when there is none.
func (s *Server) Leader() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// Peers returns the Raft addresses of the voting servers.
func (s *Server) Peers() ([]string, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	var out []string
	for _, srv := range f.Configuration().Servers {
		out = append(out, string(srv.Address))
	}
	return out, nil
}

// RaftStats exposes Raft's own statistics for agent-info.
func (s *Server) RaftStats() map[string]string { return s.raft.Stats() }

// LastContact is the time since the leader was last heard from; zero on
// the leader.
func (s *Server) LastContact() time.Duration {
	if s.IsLeader() {
		return 0
	}
	last := s.raft.LastContact()
	if last.IsZero() {
		return 0
	}
	return time.Since(last)
}

// raftApply commits one request through Raft and returns its index.
func (s *Server) raftApply(t structs.MessageType, req any) (uint64, error) {
	if !s.IsLeader() {
		return 0, errNotLeader
	}
	data, err := encodeMessage(t, req)
	if err != nil {
		return 0, err
	}
	f := s.raft.Apply(data, 30*time.Second)
	if err := s.waitFuture(f); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return 0, errNotLeader
		}
		return 0, fmt.Errorf("raft apply: %w", err)
	}
	if resp, ok := f.Response().(error); ok && resp != nil {
		var nsErr *state.NamespaceError
		if errors.As(resp, &nsErr) {
			// A write refused for its namespace is the caller's mistake.
			return 0, fmt.Errorf("%w: %v", ErrInvalid, resp)
		}
		return 0, resp
	}
	return f.Index(), nil
}

// errShutdown is returned for a Raft write still pending when the server
// shuts down.
var errShutdown = errors.New("server is shutting down")

// waitFuture waits for a Raft future, giving up when the server shuts
// down, so that no caller (a scheduler worker, a handler) outlives it.
func (s *Server) waitFuture(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-s.shutdownCtx.Done():
		return errShutdown
	}
}

// logWriter sends the log lines of Raft, Serf and memberlist, which log
// through io.Writers, to the server's logger.
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(p)), "component", "raft")
	return len(p), nil
}
