package server

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"

	"github.com/roam-project/roam/internal/version"
)

// serfMember describes another server learnt from gossip.
type serfMember struct {
	name    string
	region  string
	rpcAddr string
	expect  int
}

// setupSerf starts gossip on the Serf port, tagged with what other servers
// need: role, region, datacenter, RPC address and bootstrap_expect.
func (s *Server) setupSerf() error {
	host, portStr, err := net.SplitHostPort(s.config.SerfAddr)
	if err != nil {
		return fmt.Errorf("serf address %q: %w", s.config.SerfAddr, err)
	}
	port, _ := strconv.Atoi(portStr)
	conf := serf.DefaultConfig()
	conf.Init()
	conf.NodeName = s.config.NodeName
	conf.MemberlistConfig.BindAddr = host
	conf.MemberlistConfig.BindPort = port
	if s.config.SerfAdvertise != "" {
		ahost, aport, err := net.SplitHostPort(s.config.SerfAdvertise)
		if err != nil {
			return fmt.Errorf("serf advertise address %q: %w", s.config.SerfAdvertise, err)
		}
		conf.MemberlistConfig.AdvertiseAddr = ahost
		conf.MemberlistConfig.AdvertisePort, _ = strconv.Atoi(aport)
	}
	conf.MemberlistConfig.LogOutput = logWriter{s.logger.With("component", "memberlist")}
	conf.LogOutput = logWriter{s.logger.With("component", "serf")}
	conf.Tags = map[string]string{
		"role":     "nomad",
		"region":   s.config.Region,
		"dc":       s.config.Datacenter,
		"build":    version.NomadCompatible,
		"revision": version.Revision(),
		"vsn":      "1", // Nomad's API major version tag
		"roam":     version.Number,
		"expect":   strconv.Itoa(s.config.BootstrapExpect),
		"raft_vsn": "3",
		"id":       s.config.NodeName,
		"rpc_addr": s.rpcAdvertise(),
	}
	if s.config.HTTPAdvertise != "" {
		conf.Tags["http_addr"] = s.config.HTTPAdvertise
	}
	if _, p, err := net.SplitHostPort(s.rpcAdvertise()); err == nil {
		conf.Tags["port"] = p
	}
	if err := s.setupGossipKeyring(conf); err != nil {
		return err
	}
	events := make(chan serf.Event, 256)
	conf.EventCh = events
	sf, err := serf.Create(conf)
	if err != nil {
		return fmt.Errorf("start serf on %s: %w", s.config.SerfAddr, err)
	}
	s.serf = sf
	s.goRun(func() { s.serfEvents(events) })
	if len(s.config.StartJoin) > 0 {
		if _, err := s.Join(s.config.StartJoin); err != nil {
			return fmt.Errorf("join %v: %w", s.config.StartJoin, err)
		}
	}
	if len(s.config.RetryJoin) > 0 {
		s.goRun(s.retryJoin)
	}
	s.maybeBootstrap()
	return nil
}

func (s *Server) rpcAdvertise() string {
	if s.mux != nil {
		return s.mux.RaftLayer().Addr().String()
	}
	return ""
}

// Join contacts the Serf agents at addrs and returns how many answered.
func (s *Server) Join(addrs []string) (int, error) {
	if s.serf == nil {
		return 0, fmt.Errorf("%w: gossip is disabled on this server", ErrInvalid)
	}
	return s.serf.Join(addrs, true)
}

// retryJoin joins RetryJoin addresses until one answers, or RetryMax
// attempts fail.
func (s *Server) retryJoin() {
	interval := s.config.RetryInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	for attempt := 1; ; attempt++ {
		n, err := s.serf.Join(s.config.RetryJoin, true)
		if n > 0 {
			s.logger.Info("joined cluster", "contacted", n)
			return
		}
		if s.config.RetryMax > 0 && attempt >= s.config.RetryMax {
			s.logger.Error("giving up joining the cluster", "addrs", s.config.RetryJoin, "attempts", attempt, "error", err)
			return
		}
		s.logger.Warn("join failed, retrying", "addrs", s.config.RetryJoin, "error", err, "retry_in", interval)
		select {
		case <-s.shutdownCtx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Members lists the gossip members, this server included.
func (s *Server) Members() []serf.Member {
	if s.serf == nil {
		return nil
	}
	return s.serf.Members()
}

// LocalMember is this server's own gossip entry.
func (s *Server) LocalMember() serf.Member {
	if s.serf == nil {
		return serf.Member{Name: s.config.NodeName, Status: serf.StatusAlive}
	}
	return s.serf.LocalMember()
}

// SerfStats are gossip's own statistics (members, failed, health_score,
// ...), for agent-info.
func (s *Server) SerfStats() map[string]string {
	if s.serf == nil {
		return map[string]string{}
	}
	return s.serf.Stats()
}

// ForceLeave removes a failed member from gossip, and so from Raft; with
// prune it also drops the member from the member list at once.
func (s *Server) ForceLeave(node string, prune bool) error {
	if s.serf == nil {
		return fmt.Errorf("%w: gossip is disabled on this server", ErrInvalid)
	}
	if prune {
		return s.serf.RemoveFailedNodePrune(node)
	}
	return s.serf.RemoveFailedNode(node)
}

// Leave leaves the cluster gracefully: gossip first, so the leader removes
// this server from Raft.
func (s *Server) Leave() error {
	if s.serf == nil {
		return nil
	}
	return s.serf.Leave()
}

func (s *Server) serfEvents(events <-chan serf.Event) {
	for {
		select {
		case <-s.shutdownCtx.Done():
			return
		case e := <-events:
			me, ok := e.(serf.MemberEvent)
			if !ok {
				continue
			}
			for _, m := range me.Members {
				peer, ok := s.serverMember(m)
				if !ok {
					continue
				}
				switch me.EventType() {
				case serf.EventMemberJoin, serf.EventMemberUpdate:
					s.maybeBootstrap()
					s.addRaftPeer(peer)
				case serf.EventMemberLeave, serf.EventMemberReap:
					s.removeRaftPeer(peer)
				case serf.EventMemberFailed:
					s.logger.Warn("server failed", "server", peer.name)
				}
			}
		}
	}
}

// serverMember reads a gossip member's tags; ok is false for members that
// are not servers of this region.
func (s *Server) serverMember(m serf.Member) (serfMember, bool) {
	if m.Tags["role"] != "nomad" || m.Tags["region"] != s.config.Region || m.Tags["rpc_addr"] == "" {
		return serfMember{}, false
	}
	expect, _ := strconv.Atoi(m.Tags["expect"])
	return serfMember{name: m.Name, region: m.Tags["region"], rpcAddr: m.Tags["rpc_addr"], expect: expect}, true
}

// maybeBootstrap bootstraps Raft once bootstrap_expect servers have met
// through gossip. Every server computes the same configuration, so they
// agree without talking about it.
func (s *Server) maybeBootstrap() {
	if s.bootstrapped.Load() || s.config.BootstrapExpect <= 1 {
		return
	}
	var servers []raft.Server
	for _, m := range s.serf.Members() {
		if m.Status != serf.StatusAlive {
			continue
		}
		peer, ok := s.serverMember(m)
		if !ok {
			continue
		}
		if peer.expect != s.config.BootstrapExpect {
			s.logger.Error("servers disagree on bootstrap_expect", "server", peer.name, "theirs", peer.expect, "ours", s.config.BootstrapExpect)
			return
		}
		servers = append(servers, raft.Server{ID: raft.ServerID(peer.name), Address: raft.ServerAddress(peer.rpcAddr)})
	}
	if len(servers) < s.config.BootstrapExpect {
		return
	}
	// Another server may have bootstrapped already and replicated to us.
	if f := s.raft.GetConfiguration(); f.Error() == nil && len(f.Configuration().Servers) > 0 {
		s.bootstrapped.Store(true)
		return
	}
	s.logger.Info("bootstrap_expect reached, bootstrapping cluster", "servers", len(servers))
	if err := s.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && err != raft.ErrCantBootstrap {
		s.logger.Error("bootstrap raft", "error", err)
		return
	}
	s.bootstrapped.Store(true)
}

// addRaftPeer makes a newly seen server a voter; only the leader does it.
func (s *Server) addRaftPeer(m serfMember) {
	if !s.IsLeader() || m.name == s.config.NodeName {
		return
	}
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	for _, srv := range f.Configuration().Servers {
		if srv.ID == raft.ServerID(m.name) && srv.Address == raft.ServerAddress(m.rpcAddr) {
			return
		}
	}
	s.logger.Info("adding raft peer", "server", m.name, "addr", m.rpcAddr)
	if err := s.raft.AddVoter(raft.ServerID(m.name), raft.ServerAddress(m.rpcAddr), 0, 0).Error(); err != nil {
		s.logger.Error("add raft peer", "server", m.name, "error", err)
	}
}

// removeRaftPeer drops a server that left (or was forced out).
func (s *Server) removeRaftPeer(m serfMember) {
	if !s.IsLeader() || m.name == s.config.NodeName {
		return
	}
	s.logger.Info("removing raft peer", "server", m.name)
	if err := s.raft.RemoveServer(raft.ServerID(m.name), 0, 0).Error(); err != nil {
		s.logger.Error("remove raft peer", "server", m.name, "error", err)
	}
}

// reconcilePeers, on a new leader, adds every live server gossip knows.
func (s *Server) reconcilePeers() {
	for _, m := range s.Members() {
		if m.Status != serf.StatusAlive {
			continue
		}
		if peer, ok := s.serverMember(m); ok {
			s.addRaftPeer(peer)
		}
	}
}

// LeaderHTTPAddr is the leader's advertised HTTP address, learnt from its
// gossip tags; "" when unknown.
func (s *Server) LeaderHTTPAddr() string {
	leader := s.Leader()
	if leader == "" {
		return ""
	}
	for _, m := range s.Members() {
		if m.Tags["rpc_addr"] == leader && m.Status == serf.StatusAlive {
			return m.Tags["http_addr"]
		}
	}
	return ""
}

// VerifyLeader confirms that this server leads, has applied everything
// committed before its term (its leadership barrier passed) and still has
// a quorum behind it, so that a read it serves is not stale.
func (s *Server) VerifyLeader() error {
	s.leaderMu.Lock()
	established := s.leaderCancel != nil
	s.leaderMu.Unlock()
	if !established {
		return errNotLeader
	}
	if err := s.raft.VerifyLeader().Error(); err != nil {
		return errNotLeader
	}
	return nil
}

// RemovePeer removes a server from the Raft configuration by ID or by
// address, whichever is given (`operator raft remove-peer`).
func (s *Server) RemovePeer(id, address string) error {
	if !s.IsLeader() {
		return errNotLeader
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, srv := range f.Configuration().Servers {
		if (id != "" && string(srv.ID) == id) || (address != "" && string(srv.Address) == address) {
			return s.raft.RemoveServer(srv.ID, 0, 0).Error()
		}
	}
	if id != "" {
		return fmt.Errorf("id %q was not found in the Raft configuration: %w", id, ErrNotFound)
	}
	return fmt.Errorf("address %q was not found in the Raft configuration: %w", address, ErrNotFound)
}

// RaftServers is the Raft configuration: each server's ID and address.
func (s *Server) RaftServers() ([]raft.Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	return f.Configuration().Servers, nil
}
