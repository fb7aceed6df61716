// Package server is a Roam server: Raft consensus over the state store, the
// endpoints that change cluster state, and the leader's loops (eval broker,
// blocked evaluations, plan applier, heartbeats, garbage collection).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/serf/serf"

	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// Config configures a server.
type Config struct {
	// NodeName names this server in Raft and membership.
	NodeName   string
	Region     string
	Datacenter string
	// DataDir holds Raft's log and snapshots; empty keeps them in memory
	// (the dev agent).
	DataDir string
	// RPCAddr is the address the RPC port (Raft and RPC, multiplexed)
	// listens on; empty runs Raft over an in-memory transport with no RPC
	// (unit tests). RPCAdvertise is the address peers reach it on.
	RPCAddr      string
	RPCAdvertise string
	// SerfAddr and SerfAdvertise are the gossip (Serf) addresses; empty
	// disables gossip, leaving a server that only bootstraps alone.
	SerfAddr      string
	SerfAdvertise string
	// StartJoin are Serf addresses of servers to join at start; RetryJoin
	// are joined in the background until one answers.
	// HTTPAdvertise is this agent's HTTP address, gossiped so that other
	// servers can forward requests to the leader's HTTP API.
	HTTPAdvertise string
	StartJoin     []string
	RetryJoin     []string
	RetryInterval time.Duration
	// RetryMax bounds join attempts; 0 retries until shutdown.
	RetryMax int
	// BootstrapExpect is how many servers form the first cluster; the dev
	// agent and a single server use 1.
	BootstrapExpect int
	// NumSchedulers is the number of scheduler workers; 0 = one per core.
	NumSchedulers int
	// HeartbeatGrace is added to each node's TTL before it is marked down.
	HeartbeatGrace time.Duration
	// MinHeartbeatTTL is the smallest TTL handed to a node.
	MinHeartbeatTTL time.Duration
	// ValidateTaskConfig checks a task's driver config; nil skips it.
	ValidateTaskConfig func(driver string, config map[string]any) error
	Logger             *slog.Logger
}

// Server is one Roam server.
type Server struct {
	config  Config
	logger  *slog.Logger
	raft    *raft.Raft
	fsm     *fsm
	broker  *evalBroker
	blocked *blockedEvals
	planner *planApplier
	beats   *heartbeats
	mux     *rpc.Mux
	pool    *rpc.Pool
	serf    *serf.Serf
	// bootstrapped is set once this server has bootstrapped Raft or found
	// existing Raft state.
	bootstrapped atomic.Bool

	closers []func() error

	leaderMu     sync.Mutex
	leaderCancel context.CancelFunc
	shutdownCtx  context.Context
	shutdown     context.CancelFunc
	wg           sync.WaitGroup
}

// New starts a server. With one expected server it bootstraps a
// single-node Raft cluster and becomes leader.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.NumSchedulers <= 0 {
		cfg.NumSchedulers = runtime.NumCPU()
	}
	if cfg.HeartbeatGrace == 0 {
		cfg.HeartbeatGrace = 10 * time.Second
	}
	if cfg.MinHeartbeatTTL == 0 {
		cfg.MinHeartbeatTTL = 10 * time.Second
	}
	if cfg.BootstrapExpect == 0 {
		cfg.BootstrapExpect = 1
	}
	s := &Server{config: cfg, logger: cfg.Logger.With("component", "server")}
	s.shutdownCtx, s.shutdown = context.WithCancel(context.Background())
	var err error
	s.fsm, err = newFSM(s.logger, s)
	if err != nil {
		return nil, err
	}
	s.broker = newEvalBroker(60*time.Second, 3, s.failEval, s.cancelEval)
	s.blocked = newBlockedEvals(s.broker.Enqueue, s.cancelEval)
	s.planner = newPlanApplier(s.fsm.State, s.raftApply, s.logger)
	s.beats = newHeartbeats(s)
	if cfg.RPCAddr != "" {
		if err := s.setupRPC(); err != nil {
			s.Shutdown()
			return nil, err
		}
	}
	if err := s.setupRaft(); err != nil {
		s.Shutdown()
		return nil, err
	}
	if cfg.SerfAddr != "" {
		if err := s.setupSerf(); err != nil {
			s.Shutdown()
			return nil, err
		}
	}
	for i := 0; i < cfg.NumSchedulers; i++ {
		w := &worker{srv: s, logger: s.logger.With("worker", i)}
		s.goRun(func() { w.run(s.shutdownCtx) })
	}
	s.goRun(s.monitorLeadership)
	return s, nil
}

func (s *Server) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// setupRaft builds Raft's stores and transport: in memory for the dev
// agent, BoltDB and file snapshots under DataDir otherwise.
func (s *Server) setupRaft() error {
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(s.config.NodeName)
	conf.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: raftLogWriter{s.logger}})
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
		network := raft.NewNetworkTransport(s.mux.RaftLayer(), 3, 10*time.Second, raftLogWriter{s.logger})
		s.closers = append(s.closers, network.Close)
		trans, addr = network, network.LocalAddr()
	} else {
		addr, trans = raft.NewInmemTransport(raft.ServerAddress(s.config.NodeName))
	}
	if s.config.DataDir == "" {
		if s.config.BootstrapExpect <= 1 {
			// One server in memory: nothing to wait for but itself.
			conf.HeartbeatTimeout = 500 * time.Millisecond
			conf.ElectionTimeout = 500 * time.Millisecond
			conf.LeaderLeaseTimeout = 500 * time.Millisecond
		}
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
		if snaps, err = raft.NewFileSnapshotStore(dir, 2, raftLogWriter{s.logger}); err != nil {
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

// WaitForLeader blocks until the cluster has a leader whose loops are
// running, or ctx ends.
func (s *Server) WaitForLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		s.leaderMu.Lock()
		ready := s.leaderCancel != nil
		s.leaderMu.Unlock()
		if ready || (s.Leader() != "" && !s.IsLeader()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// State returns the current state store for reads.
func (s *Server) State() *state.Store { return s.fsm.State() }

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

// BrokerStats reports the eval broker's ready and unacked counts and the
// number of blocked evaluations.
func (s *Server) BrokerStats() (ready, unacked, blocked int) {
	ready, unacked = s.broker.Stats()
	return ready, unacked, s.blocked.Len()
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
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return 0, errNotLeader
		}
		return 0, fmt.Errorf("raft apply: %w", err)
	}
	if resp, ok := f.Response().(error); ok && resp != nil {
		return 0, resp
	}
	return f.Index(), nil
}

// evalsUpserted routes newly written evaluations to the leader's loops.
func (s *Server) evalsUpserted(evals []*api.Evaluation) {
	for _, e := range evals {
		switch e.Status {
		case structs.EvalStatusPending:
			s.broker.Enqueue(e)
		case structs.EvalStatusBlocked:
			s.blocked.Block(e)
		}
	}
}

// capacityChanged wakes blocked evaluations.
func (s *Server) capacityChanged() { s.blocked.Unblock() }

// failEval marks an evaluation failed after too many delivery attempts.
func (s *Server) failEval(e *api.Evaluation) {
	s.finishEval(e, structs.EvalStatusFailed, "evaluation reached delivery limit (3)")
}

// cancelEval marks an evaluation superseded by a newer one of its job.
func (s *Server) cancelEval(e *api.Evaluation) {
	s.finishEval(e, structs.EvalStatusCancelled, "canceled after more recent eval was processed")
}

func (s *Server) finishEval(e *api.Evaluation, status, desc string) {
	updated := *e
	updated.Status = status
	updated.StatusDescription = desc
	req := &structs.EvalUpdateRequest{Evals: []*api.Evaluation{&updated}, Time: time.Now().UnixNano()}
	if _, err := s.raftApply(structs.EvalUpdateRequestType, req); err != nil {
		s.logger.Warn("update evaluation", "eval_id", e.ID, "status", status, "error", err)
	}
}

// monitorLeadership starts the leader's loops when this server gains
// leadership and stops them when it loses it.
func (s *Server) monitorLeadership() {
	ch := s.raft.LeaderCh()
	for {
		select {
		case <-s.shutdownCtx.Done():
			s.revokeLeadership()
			return
		case isLeader := <-ch:
			if isLeader {
				s.establishLeadership()
			} else {
				s.revokeLeadership()
			}
		}
	}
}

func (s *Server) establishLeadership() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leaderCancel != nil {
		return
	}
	// Everything committed before this term must be applied first, so
	// that the loops below start from the whole state.
	if err := s.raft.Barrier(30 * time.Second).Error(); err != nil {
		s.logger.Error("raft barrier on leadership", "error", err)
		return
	}
	ctx, cancel := context.WithCancel(s.shutdownCtx)
	s.leaderCancel = cancel
	s.broker.SetEnabled(true)
	s.blocked.SetEnabled(true)
	s.restoreEvals()
	s.goRun(func() { s.planner.Run(ctx) })
	s.beats.Start(ctx)
	s.goRun(func() { s.runGC(ctx) })
	s.goRun(s.reconcilePeers)
	s.goRun(func() { s.cleanupDeadServers(ctx) })
	s.logger.Info("cluster leadership acquired")
}

func (s *Server) revokeLeadership() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leaderCancel == nil {
		return
	}
	s.leaderCancel()
	s.leaderCancel = nil
	s.broker.SetEnabled(false)
	s.blocked.SetEnabled(false)
	s.beats.Stop()
	s.logger.Info("cluster leadership lost")
}

// restoreEvals hands stored pending and blocked evaluations to the new
// leader's broker and blocked tracker.
func (s *Server) restoreEvals() {
	evals, err := s.State().Snapshot().Evals("")
	if err != nil {
		s.logger.Error("restore evaluations", "error", err)
		return
	}
	s.evalsUpserted(evals)
}

// Shutdown stops the server's loops, gossip and Raft. It does not leave the
// cluster: a server that stops is expected back (see Leave).
func (s *Server) Shutdown() {
	if s.shutdown != nil {
		s.shutdown()
	}
	if s.serf != nil {
		_ = s.serf.Shutdown()
	}
	if s.raft != nil {
		if err := s.raft.Shutdown().Error(); err != nil {
			s.logger.Warn("raft shutdown", "error", err)
		}
	}
	s.wg.Wait()
	for _, c := range s.closers {
		_ = c()
	}
	if s.mux != nil {
		_ = s.mux.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
}

// setupRPC opens the RPC port and publishes the server's endpoints.
func (s *Server) setupRPC() error {
	var advertise net.Addr
	if s.config.RPCAdvertise != "" {
		a, err := net.ResolveTCPAddr("tcp", s.config.RPCAdvertise)
		if err != nil {
			return fmt.Errorf("rpc advertise address %q: %w", s.config.RPCAdvertise, err)
		}
		advertise = a
	}
	mux, err := rpc.Listen(s.config.RPCAddr, advertise, s.logger.With("component", "rpc"))
	if err != nil {
		return err
	}
	s.mux = mux
	s.pool = rpc.NewPool()
	return s.registerEndpoints()
}

// ServerAddrs lists the RPC addresses of the servers in the Raft
// configuration, which clients use to fail over.
func (s *Server) ServerAddrs() []string {
	peers, err := s.Peers()
	if err != nil || len(peers) == 0 {
		if s.mux != nil {
			return []string{s.mux.RaftLayer().Addr().String()}
		}
		return nil
	}
	return peers
}

// raftLogWriter sends Raft's own log lines to the server's logger.
type raftLogWriter struct{ l *slog.Logger }

func (w raftLogWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(p)), "component", "raft")
	return len(p), nil
}
