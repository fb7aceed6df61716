package server

import (
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"
)

// AutopilotHealth reports the health of the Raft servers, as
// /v1/operator/autopilot/health shows it: a server is healthy while gossip
// sees it alive and, for this server, while it hears from the leader within
// the autopilot configuration's LastContactThreshold. Only this server's
// own Raft log position is known here; other servers' read 0.
func (s *Server) AutopilotHealth() (*api.OperatorHealthReply, error) {
	servers, err := s.RaftServers()
	if err != nil {
		return nil, err
	}
	conf, err := s.State().Snapshot().AutopilotConfig()
	if err != nil {
		return nil, err
	}
	members := map[string]serf.Member{}
	for _, m := range s.Members() {
		members[m.Name] = m
	}
	leaderAddr, leaderID := s.raft.LeaderWithID()
	stats := s.raft.Stats()
	reply := &api.OperatorHealthReply{Healthy: true, Leader: string(leaderID)}
	healthyVoters, voters := 0, 0
	for _, srv := range servers {
		h := api.ServerHealth{ID: string(srv.ID), Name: string(srv.ID), Address: string(srv.Address),
			Leader: srv.Address == leaderAddr, Voter: srv.Suffrage == raft.Voter, SerfStatus: serf.StatusNone.String()}
		if m, ok := members[string(srv.ID)]; ok {
			h.SerfStatus = m.Status.String()
			h.Version = m.Tags["build"]
		}
		h.Healthy = h.SerfStatus == serf.StatusAlive.String()
		if string(srv.ID) == s.config.NodeName {
			h.SerfStatus = serf.StatusAlive.String()
			h.LastTerm, _ = strconv.ParseUint(stats["last_log_term"], 10, 64)
			h.LastIndex, _ = strconv.ParseUint(stats["last_log_index"], 10, 64)
			if !h.Leader {
				h.LastContact = s.LastContact()
			}
			h.Healthy = leaderAddr != "" && (h.Leader || h.LastContact <= max(conf.LastContactThreshold, time.Second))
		}
		if h.Voter {
			voters++
			reply.Voters = append(reply.Voters, h.ID)
			if h.Healthy {
				healthyVoters++
			}
		}
		reply.Healthy = reply.Healthy && h.Healthy
		reply.Servers = append(reply.Servers, h)
	}
	reply.FailureTolerance = max(healthyVoters-(voters/2+1), 0)
	return reply, nil
}
