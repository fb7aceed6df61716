package agent

import (
	"net/http"
	"runtime"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/internal/version"
)

// agentSelf serves /v1/agent/self: the agent's configuration, its own
// membership entry and the statistics agent-info prints.
func (h *httpAPI) agentSelf(w http.ResponseWriter, r *http.Request) (any, error) {
	member := h.agent.member()
	stats := map[string]map[string]string{
		"runtime": {
			"arch":       runtime.GOARCH,
			"cpu_count":  strconv.Itoa(runtime.NumCPU()),
			"goroutines": strconv.Itoa(runtime.NumGoroutine()),
			"kernel.name": runtime.GOOS,
			"max_procs":  strconv.Itoa(runtime.GOMAXPROCS(0)),
			"version":    runtime.Version(),
		},
	}
	if h.srv != nil {
		ready, unacked, blocked := h.srv.BrokerStats()
		stats["nomad"] = map[string]string{
			"server":        "true",
			"leader":        strconv.FormatBool(h.srv.IsLeader()),
			"leader_addr":   h.srv.Leader(),
			"bootstrap":     strconv.FormatBool(h.agent.config.Server.BootstrapExpect <= 1),
			"known_regions": "1",
			"broker_ready":  strconv.Itoa(ready),
			"broker_unacked": strconv.Itoa(unacked),
			"blocked_evals": strconv.Itoa(blocked),
		}
		stats["raft"] = h.srv.RaftStats()
		stats["serf"] = map[string]string{"members": "1", "failed": "0", "left": "0", "health_score": "0", "encrypted": "false"}
	}
	if c := h.agent.client; c != nil {
		node := c.Node()
		stats["client"] = map[string]string{
			"node_id":         node.ID,
			"known_servers":   h.agent.advertiseRPC(),
			"num_allocations": strconv.Itoa(h.agent.clientAllocCount()),
			"last_heartbeat":  "0",
			"heartbeat_ttl":   "0",
		}
	}
	return &api.AgentSelf{
		Config: h.agent.configMap(),
		Member: member,
		Stats:  stats,
	}, nil
}

// agentMembers serves /v1/agent/members.
func (h *httpAPI) agentMembers(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.srv == nil {
		return nil, codedError(http.StatusNotImplemented, "agent is not a server")
	}
	m := h.agent.member()
	return &api.ServerMembers{
		ServerName:   h.agent.config.Name,
		ServerRegion: h.agent.config.Region,
		ServerDC:     h.agent.config.Datacenter,
		Members:      []*api.AgentMember{&m},
	}, nil
}

// agentServers serves /v1/agent/servers: the servers a client knows.
func (h *httpAPI) agentServers(w http.ResponseWriter, r *http.Request) (any, error) {
	return []string{h.agent.advertiseRPC()}, nil
}

// agentHealth serves /v1/agent/health.
func (h *httpAPI) agentHealth(w http.ResponseWriter, r *http.Request) (any, error) {
	type health struct {
		Ok      bool   `json:"ok"`
		Message string `json:"message"`
	}
	out := map[string]health{}
	if h.srv != nil {
		if h.srv.Leader() == "" {
			w.WriteHeader(http.StatusInternalServerError)
			out["server"] = health{false, "No cluster leader"}
		} else {
			out["server"] = health{true, "ok"}
		}
	}
	if h.agent.client != nil {
		out["client"] = health{true, "ok"}
	}
	return out, nil
}

// statusLeader serves /v1/status/leader: the leader's RPC address.
func (h *httpAPI) statusLeader(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.srv.Leader() == "" {
		return "", nil
	}
	return h.agent.advertiseRPC(), nil
}

// statusPeers serves /v1/status/peers.
func (h *httpAPI) statusPeers(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.agent.config.DataDir == "" {
		return []string{h.agent.advertiseRPC()}, nil
	}
	return h.srv.Peers()
}

// systemGC serves /v1/system/gc.
func (h *httpAPI) systemGC(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	return nil, h.srv.GarbageCollect()
}

// raftConfiguration serves /v1/operator/raft/configuration.
func (h *httpAPI) raftConfiguration(w http.ResponseWriter, r *http.Request) (any, error) {
	peers, err := h.srv.Peers()
	if err != nil {
		return nil, err
	}
	out := &api.RaftConfiguration{}
	leader := h.srv.Leader()
	for _, p := range peers {
		id := p
		if h.agent.config.DataDir == "" {
			id, p = h.agent.config.Name, h.agent.advertiseRPC()
		}
		out.Servers = append(out.Servers, &api.RaftServer{
			ID: id, Node: h.agent.config.Name + "." + h.agent.config.Region, Address: p,
			Leader: leader != "" && (p == leader || h.agent.config.DataDir == ""), Voter: true, RaftProtocol: "3",
		})
	}
	return out, nil
}

// versionTag is what the agent reports as its build.
var versionTag = version.Number
