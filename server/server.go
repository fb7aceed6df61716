// Package server is a Roam server: Raft consensus over the state store, the
// endpoints that change cluster state, and the leader's loops (eval broker,
// blocked evaluations, plan applier, heartbeats, garbage collection).
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"

	"github.com/roam-project/roam/events"
	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/tlsutil"
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
	// RaftMultiplier scales Raft's timeouts; 0 or 1 keeps Raft's defaults
	// (1 s heartbeat and election timeouts, 500 ms leader lease), which
	// suit a LAN.
	RaftMultiplier int
	// NumSchedulers is the number of scheduler workers; 0 = one per core.
	NumSchedulers int
	// EnabledSchedulers are the schedulers the workers run (job types and
	// _core); empty: all.
	EnabledSchedulers []string
	// HeartbeatGrace is added to each node's TTL before it is marked down.
	HeartbeatGrace time.Duration
	// MinHeartbeatTTL is the smallest TTL handed to a node.
	MinHeartbeatTTL time.Duration
	// FailoverHeartbeatTTL is how long a new leader waits to hear from
	// each node before marking it down (failover_heartbeat_ttl; 0: 5
	// minutes, as in Nomad).
	FailoverHeartbeatTTL time.Duration
	// RaftSnapshotThreshold, RaftSnapshotInterval and RaftTrailingLogs
	// tune Raft's snapshots (raft_snapshot_threshold, _interval,
	// raft_trailing_logs); 0 takes the defaults in setupRaft.
	RaftSnapshotThreshold uint64
	RaftSnapshotInterval  time.Duration
	RaftTrailingLogs      uint64
	// JobLimits bound what a job may ask for.
	JobLimits JobLimits
	// EventBufferSize is how many Raft indexes of events the event stream
	// keeps (the server's event_buffer_size); 0 means the default.
	EventBufferSize int
	// ACLEnabled turns on token checks (the agent's acl block).
	ACLEnabled bool
	// RootKeyRotation is how old the active root key gets before
	// the leader rotates it (server.root_key_rotation_threshold); 0 takes
	// DefaultRootKeyRotation.
	RootKeyRotation time.Duration
	// ACLTokenGCThreshold is how long an expired ACL token is kept before
	// the collector removes it (server.acl_token_gc_threshold); 0 takes
	// DefaultACLTokenGCThreshold.
	ACLTokenGCThreshold time.Duration
	// OIDCIssuer is the issuer of workload identities (server.oidc_issuer);
	// empty: identities carry no `iss` and OIDC discovery is off.
	OIDCIssuer string
	// ValidateTaskConfig checks a task's driver config; nil skips it.
	ValidateTaskConfig func(driver string, config map[string]any) error
	// KEKs are the key-encryption keys that wrap the keyring's root keys
	// (the agent's `keyring "aead"` blocks); none: each key has its own.
	KEKs   []KEK
	Logger *slog.Logger
	// TLS, when set, puts the RPC port (Raft and RPC) under mutual TLS.
	TLS *tlsutil.Store
	// AuthoritativeRegion is the region whose ACLs and namespaces every
	// region replicates; empty or this region's own: nothing replicated.
	AuthoritativeRegion string
	// EncryptKey is the gossip encryption key (server.encrypt); the
	// cluster secret that authenticates servers on the RPC port is derived
	// from it. Empty leaves gossip in plain text.
	EncryptKey []byte
}

// Server is one Roam server.
type Server struct {
	config  Config
	logger  *slog.Logger
	raft    *raft.Raft
	fsm     *fsm
	broker  *evalBroker
	blocked *blockedEvals
	// events is the event stream's broker, fed by the FSM.
	events  *events.Broker
	planner *planApplier
	// evalUpdates commits the leader's own evaluation status changes in
	// batches.
	evalUpdates *evalBatcher
	// allocUpdates commits clients' allocation updates in batches.
	allocUpdates *allocUpdateBatcher
	beats        *heartbeats
	// locks times the leases of variable locks (leader only).
	locks *varLocks
	// workers are the scheduler workers.
	workers *workerPool
	mux     *rpc.Mux
	pool    *rpc.Pool
	serf    *serf.Serf
	// bootstrapped is set once this server has bootstrapped Raft or found
	// existing Raft state.
	bootstrapped atomic.Bool
	// started is set once Raft and Serf are set up: the RPC port accepts
	// connections before that, and must not look at them until then.
	started atomic.Bool
	// keys seal variables' items; keyGenMu makes the leader create at
	// most one first root key.
	keys     *keyring
	keyGenMu sync.Mutex
	// clusterSecret authenticates servers to each other on the RPC port
	// when there is no TLS; empty when server.encrypt is not set.
	clusterSecret []byte
	// aclCache holds compiled ACLs.
	aclCache aclCache
	// replication is the state of replication from the authoritative
	// region.
	replication replicationStatus
	// multiregionSends orders multiregion jobs' registrations in other
	// regions.
	multiregionSends multiregionSends

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
	if cfg.FailoverHeartbeatTTL == 0 {
		cfg.FailoverHeartbeatTTL = 5 * time.Minute
	}
	if cfg.BootstrapExpect == 0 {
		cfg.BootstrapExpect = 1
	}
	s := &Server{config: cfg, logger: cfg.Logger.With("component", "server")}
	if len(cfg.EncryptKey) > 0 {
		secret, err := deriveClusterSecret(cfg.EncryptKey)
		if err != nil {
			return nil, err
		}
		s.clusterSecret = secret
	}
	s.shutdownCtx, s.shutdown = context.WithCancel(context.Background())
	var err error
	s.events = events.NewBroker(cfg.EventBufferSize)
	s.fsm, err = newFSM(s.logger, s, s.events)
	if err != nil {
		return nil, err
	}
	s.evalUpdates = newEvalBatcher(s.raftApply, s.logger)
	s.allocUpdates = newAllocUpdateBatcher(s.raftApply)
	s.broker = newEvalBroker(60*time.Second, 3, s.failEval, s.cancelEval)
	s.blocked = newBlockedEvals(s.broker.Enqueue, s.cancelEval)
	s.planner = newPlanApplier(s.fsm.State, s.raftApply, s.logger)
	s.beats = newHeartbeats(s)
	s.locks = newVarLocks(s.expireVarLock)
	if s.keys, err = newKeyring(cfg.KEKs, legacyKeystoreDir(cfg.DataDir)); err != nil {
		return nil, err
	}
	// RSA key generation takes a fifth of a second or more: done now, in
	// the background, the first root key does not hold up the first
	// leadership (which every caller waits for).
	s.keys.prepareSigner()
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
	s.workers = &workerPool{srv: s}
	s.workers.set(defaultWorkerConfig(cfg.NumSchedulers, cfg.EnabledSchedulers))
	s.goRun(s.monitorLeadership)
	s.started.Store(true)
	return s, nil
}

func (s *Server) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// State returns the current state store for reads.
func (s *Server) State() *state.Store { return s.fsm.State() }

// BrokerStats reports the eval broker's ready and unacked counts and the
// number of blocked evaluations.
func (s *Server) BrokerStats() (ready, unacked, blocked int) {
	ready, unacked = s.broker.Stats()
	return ready, unacked, s.blocked.Len()
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
	mux, err := rpc.Listen(s.config.RPCAddr, advertise, s.logger.With("component", "rpc"), s.rpcSecurity())
	if err != nil {
		return err
	}
	s.mux = mux
	s.pool = rpc.NewPool(s.dialConfig())
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
