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
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

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
	// A restarted server restores its latest snapshot and then replays
	// every entry after it before it can lead; replaying is the slower of
	// the two per allocation written (an entry is decoded and applied
	// whole, with its indexes and summaries), so snapshots come sooner
	// than Nomad's 8192 entries or 120 s: a restart replays at most a few
	// thousand entries. Each snapshot writes the whole state in the
	// background (the FSM keeps applying), so a much lower threshold
	// would keep a large cluster snapshotting. Trailing logs are kept for
	// followers that fall behind, as in Nomad.
	conf.SnapshotThreshold = 2048
	conf.SnapshotInterval = 30 * time.Second
	conf.TrailingLogs = 10240
	if s.config.RaftSnapshotThreshold > 0 {
		conf.SnapshotThreshold = s.config.RaftSnapshotThreshold
	}
	if s.config.RaftSnapshotInterval > 0 {
		conf.SnapshotInterval = s.config.RaftSnapshotInterval
	}
	if s.config.RaftTrailingLogs > 0 {
		conf.TrailingLogs = s.config.RaftTrailingLogs
	}
	var (
		raftDB string // the log file; "" in memory
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
		if err := privateDir(dir); err != nil {
			return err
		}
		// Raft's snapshots hold the whole cluster state, variables included.
		if err := privateDir(filepath.Join(dir, "snapshots")); err != nil {
			return err
		}
		raftDB = filepath.Join(dir, "raft.db")
		var bolt *raftboltdb.BoltStore
		err := readRaftLog(raftDB, func() (err error) {
			bolt, err = raftboltdb.New(raftboltdb.Options{Path: raftDB, BoltOptions: &bbolt.Options{Timeout: raftLogLockWait}})
			return err
		})
		if err != nil {
			return err
		}
		s.closers = append(s.closers, bolt.Close)
		logs, stable = bolt, bolt
		if snaps, err = raft.NewFileSnapshotStore(dir, 2, logWriter{s.logger}); err != nil {
			return fmt.Errorf("open raft snapshots: %w", err)
		}
	}
	var hasState bool
	err := readRaftLog(raftDB, func() (err error) {
		hasState, err = raft.HasExistingState(logs, stable, snaps)
		return err
	})
	if err != nil {
		return err
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
	var r *raft.Raft
	err = readRaftLog(raftDB, func() (err error) {
		r, err = raft.NewRaft(conf, s.fsm, logs, stable, snaps, trans)
		return err
	})
	if err != nil {
		return err
	}
	s.raft = r
	return nil
}

// raftLogLockWait is how long start-up waits for another process to
// release the Raft log.
const raftLogLockWait = 5 * time.Second

// privateDir creates dir readable by its owner only, or makes an existing
// one so.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict %s to its owner: %w", dir, err)
	}
	return nil
}

// readRaftLog runs read, a step of start-up that reads the Raft log at
// path ("" when Raft is in memory). The storage library panics on some
// damage to the file and returns errors for other damage; both become
// one clear error that names the file and the way to recover.
func readRaftLog(path string, read func() error) (err error) {
	if path != "" {
		defer func() {
			if v := recover(); v != nil {
				err = damagedRaftLog(path, fmt.Errorf("%v", v))
			}
		}()
	}
	err = read()
	if err == nil || path == "" || errors.Is(err, os.ErrPermission) {
		return err
	}
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("the raft log %s is locked by another process: is another agent running on this data_dir?", path)
	}
	if isDamage(err) {
		return damagedRaftLog(path, err)
	}
	return fmt.Errorf("read raft log %s: %w", path, err)
}

// isDamage reports whether err says the Raft log file is damaged.
func isDamage(err error) bool {
	for _, e := range []error{bolterrors.ErrInvalid, bolterrors.ErrVersionMismatch, bolterrors.ErrChecksum, bolterrors.ErrInvalidMapping} {
		if errors.Is(err, e) {
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "file size too small") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "decode") || strings.Contains(msg, "corrupt")
}

// damagedRaftLog is the error a damaged Raft log stops start-up with.
func damagedRaftLog(path string, cause error) error {
	dir := filepath.Dir(path)
	return fmt.Errorf("the raft log %s is damaged and this server cannot start from it (%v). "+
		"To recover a server of a cluster: remove it from the cluster (roam operator raft remove-peer, on another server), "+
		"delete %s and start it again: it rejoins and receives the state from the leader. "+
		"To recover a single server: move %s aside, start the server and restore your latest snapshot "+
		"(roam operator snapshot restore <file>)", path, cause, dir, dir)
}

// IsLeader reports whether this server leads the cluster. Until the
// server has started (the RPC port answers while Raft restores its state)
// it does not, and knows no leader.
func (s *Server) IsLeader() bool { return s.started.Load() && s.raft.State() == raft.Leader }

// Leader returns the leader's Raft address, "" when there is none.
func (s *Server) Leader() string {
	if !s.started.Load() {
		return ""
	}
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// Peers returns the Raft addresses of the voting servers.
func (s *Server) Peers() ([]string, error) {
	if !s.started.Load() {
		return nil, errors.New("server is starting: Raft not set up yet")
	}
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
		var refused *state.RefusedError
		if errors.As(resp, &nsErr) || errors.As(resp, &refused) {
			// A write refused for its namespace, or for what it would
			// leave behind, is the caller's mistake.
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
