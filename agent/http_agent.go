package agent

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/raft"

	"github.com/roam-project/roam/server"
)

// agentSelf serves /v1/agent/self: the agent's configuration, its own
// membership entry and the statistics agent-info prints.
func (h *httpAPI) agentSelf(w http.ResponseWriter, r *http.Request) (any, error) {
	member := h.agent.member()
	stats := map[string]map[string]string{
		"runtime": {
			"arch":        runtime.GOARCH,
			"cpu_count":   strconv.Itoa(runtime.NumCPU()),
			"goroutines":  strconv.Itoa(runtime.NumGoroutine()),
			"kernel.name": runtime.GOOS,
			"max_procs":   strconv.Itoa(runtime.GOMAXPROCS(0)),
			"version":     runtime.Version(),
		},
	}
	if h.srv != nil {
		ready, unacked, blocked := h.srv.BrokerStats()
		stats["nomad"] = map[string]string{
			"server":         "true",
			"leader":         strconv.FormatBool(h.srv.IsLeader()),
			"leader_addr":    h.srv.Leader(),
			"bootstrap":      strconv.FormatBool(h.agent.config.Server.BootstrapExpect <= 1),
			"known_regions":  strconv.Itoa(len(h.srv.Regions())),
			"broker_ready":   strconv.Itoa(ready),
			"broker_unacked": strconv.Itoa(unacked),
			"blocked_evals":  strconv.Itoa(blocked),
		}
		stats["raft"] = h.srv.RaftStats()
		stats["serf"] = h.srv.SerfStats()
		if rep := h.srv.ReplicationStats(); rep != nil {
			stats["replication"] = rep
		}
	}
	if c := h.agent.client; c != nil {
		last, ttl := c.Heartbeat()
		since := "never"
		if !last.IsZero() {
			since = time.Since(last).Round(time.Millisecond).String()
		}
		servers := []string{h.agent.advertiseRPC()}
		if h.agent.remote != nil {
			servers = h.agent.remote.Servers()
		}
		stats["client"] = map[string]string{
			"node_id":         c.Node().ID,
			"known_servers":   strings.Join(servers, ","),
			"num_allocations": strconv.Itoa(c.AllocCount()),
			"last_heartbeat":  since,
			"heartbeat_ttl":   ttl.String(),
		}
	}
	return &api.AgentSelf{
		Config: h.agent.configMap(),
		Member: member,
		Stats:  stats,
	}, nil
}

// agentMembers serves /v1/agent/members: the gossip members.
func (h *httpAPI) agentMembers(w http.ResponseWriter, r *http.Request) (any, error) {
	out := &api.ServerMembers{
		ServerName:   h.agent.config.Name,
		ServerRegion: h.agent.config.Region,
		ServerDC:     h.agent.config.Datacenter,
	}
	for _, m := range h.srv.Members() {
		member := toAgentMember(m)
		out.Members = append(out.Members, &member)
	}
	return out, nil
}

// agentJoin serves /v1/agent/join?address=...: joins other servers.
func (h *httpAPI) agentJoin(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	addrs := withDefaultPort(r.URL.Query()["address"], h.agent.config.Ports.Serf)
	n, err := h.srv.Join(addrs)
	resp := &joinResponse{NumJoined: n}
	if err != nil {
		resp.Error = err.Error()
	}
	return resp, nil
}

// joinResponse is the JSON body of /v1/agent/join, as the api client reads it.
type joinResponse struct {
	NumJoined int    `json:"num_joined"`
	Error     string `json:"error"`
}

// agentForceLeave serves /v1/agent/force-leave?node=...
func (h *httpAPI) agentForceLeave(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	node := r.URL.Query().Get("node")
	if node == "" {
		return nil, codedError(http.StatusBadRequest, "missing node to force leave")
	}
	prune, _ := strconv.ParseBool(r.URL.Query().Get("prune"))
	return nil, h.srv.ForceLeave(node, prune)
}

// agentServers serves /v1/agent/servers: the servers a client knows.
func (h *httpAPI) agentServers(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.agent.remote != nil {
		return h.agent.remote.Servers(), nil
	}
	return h.srv.ServerAddrs(), nil
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
	return h.srv.Leader(), nil
}

// regions serves /v1/regions: the regions of the servers gossip knows.
func (h *httpAPI) regions(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.srv.Regions(), nil
}

// statusPeers serves /v1/status/peers: the Raft voters' RPC addresses.
func (h *httpAPI) statusPeers(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.srv.Peers()
}

// systemGC serves /v1/system/gc.
func (h *httpAPI) systemGC(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	return nil, h.srv.GarbageCollect(secretOf(r))
}

// raftConfiguration serves /v1/operator/raft/configuration.
func (h *httpAPI) raftConfiguration(w http.ResponseWriter, r *http.Request) (any, error) {
	servers, err := h.srv.RaftServers()
	if err != nil {
		return nil, err
	}
	leader := h.srv.Leader()
	out := &api.RaftConfiguration{}
	for _, srv := range servers {
		out.Servers = append(out.Servers, &api.RaftServer{
			ID: string(srv.ID), Node: string(srv.ID), Address: string(srv.Address),
			Leader: string(srv.Address) == leader, Voter: srv.Suffrage == raft.Voter, RaftProtocol: "3",
		})
	}
	return out, nil
}

// raftRemovePeer serves DELETE /v1/operator/raft/peer?id=|address=.
func (h *httpAPI) raftRemovePeer(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodDelete {
		return nil, methodNotAllowed()
	}
	q := r.URL.Query()
	id, address := q.Get("id"), q.Get("address")
	if (id == "") == (address == "") {
		return nil, codedError(http.StatusBadRequest, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	}
	return nil, h.srv.RemovePeer(id, address)
}

// agentSchedulers serves /v1/agent/schedulers: this server's scheduler
// workers.
func (h *httpAPI) agentSchedulers(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	out := &api.AgentSchedulerWorkersInfo{ServerID: h.srv.LocalMember().Name, Schedulers: []api.AgentSchedulerWorkerInfo{}}
	for _, wi := range h.srv.SchedulerWorkersInfo() {
		status := "WaitingToDequeue"
		if wi.Busy {
			status = "Scheduling"
		}
		out.Schedulers = append(out.Schedulers, api.AgentSchedulerWorkerInfo{ID: wi.ID, EnabledSchedulers: wi.EnabledSchedulers,
			Started: wi.Started.UTC().Format(time.RFC3339Nano), Status: "Started", WorkloadStatus: status})
	}
	return out, nil
}

// agentSchedulersConfig serves /v1/agent/schedulers/config: GET reads the
// workers' configuration, PUT/POST replaces the running workers.
func (h *httpAPI) agentSchedulersConfig(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var req api.AgentSchedulerWorkerConfigRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		err := h.srv.SetSchedulerWorkers(server.WorkerConfig{NumSchedulers: req.NumSchedulers, EnabledSchedulers: req.EnabledSchedulers})
		if err != nil {
			// Nomad answers every bad configuration so.
			return nil, codedError(http.StatusBadRequest, "Invalid request")
		}
	default:
		return nil, methodNotAllowed()
	}
	c := h.srv.SchedulerWorkers()
	return &api.AgentSchedulerWorkerConfigResponse{ServerID: h.srv.LocalMember().Name,
		NumSchedulers: c.NumSchedulers, EnabledSchedulers: c.EnabledSchedulers}, nil
}
