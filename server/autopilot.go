package server

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"
)

// deadServerInterval is how often the leader looks for dead servers.
const deadServerInterval = 10 * time.Second

// cleanupDeadServers runs on the leader: a server that gossip reports
// failed (or no longer knows) is removed from the Raft configuration, but
// only while at least bootstrap_expect voters remain, so that a lone
// failure never shrinks the quorum a cluster was built for; once a
// replacement server has joined, the dead one goes.
func (s *Server) cleanupDeadServers(ctx context.Context) {
	t := time.NewTicker(deadServerInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.removeDeadServers()
		}
	}
}

func (s *Server) removeDeadServers() {
	if s.serf == nil || !s.IsLeader() {
		return
	}
	servers, err := s.RaftServers()
	if err != nil {
		return
	}
	alive := map[raft.ServerID]bool{}
	for _, m := range s.serf.Members() {
		if m.Status == serf.StatusAlive {
			alive[raft.ServerID(m.Name)] = true
		}
	}
	voters := 0
	var dead []raft.ServerID
	for _, srv := range servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters++
		if !alive[srv.ID] && srv.ID != raft.ServerID(s.config.NodeName) {
			dead = append(dead, srv.ID)
		}
	}
	for _, id := range dead {
		if voters-1 < s.config.BootstrapExpect {
			return
		}
		s.logger.Info("removing dead server from raft", "server", id)
		if err := s.raft.RemoveServer(id, 0, 0).Error(); err != nil {
			s.logger.Error("remove dead server", "server", id, "error", err)
			return
		}
		voters--
	}
}
