package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/logstream"
	"github.com/roam-project/roam/server"
)

// forwardAgentTarget sends a request whose ?node_id or ?server_id names
// another agent to that agent, as Nomad's agents do for the monitor and
// pprof endpoints, and reports whether it did (or answered an error): a
// node is found in the servers' state (a client-only agent asks its
// leader), a server among the gossip members by name, "leader" is the
// leader. A request already forwarded is answered here.
func (h *httpAPI) forwardAgentTarget(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get(clientForwardedHeader) != "" {
		return false
	}
	q := r.URL.Query()
	if id := q.Get("server_id"); id != "" {
		if h.srv == nil {
			h.writeError(w, r, codedError(http.StatusBadRequest, "This agent runs no server: server_id %s cannot be reached from it", id))
			return true
		}
		local := h.srv.LocalMember()
		if id == "leader" {
			if h.srv.IsLeader() {
				return false
			}
			addr := h.srv.LeaderHTTPAddr()
			if addr == "" {
				h.writeError(w, r, codedError(http.StatusInternalServerError, "No cluster leader"))
				return true
			}
			h.proxyToAgent(w, r, addr, "The leader")
			return true
		}
		if id == local.Name || id == h.agent.config.Name {
			return false
		}
		for _, m := range h.srv.Members() {
			if m.Name == id && m.Tags["http_addr"] != "" {
				h.proxyToAgent(w, r, m.Tags["http_addr"], fmt.Sprintf("Server %q", id))
				return true
			}
		}
		h.writeError(w, r, codedError(http.StatusInternalServerError, "unknown Nomad server %s", id))
		return true
	}
	id := q.Get("node_id")
	if id == "" || (h.agent.client != nil && h.agent.client.Node().ID == id) {
		return false
	}
	h.forwardToTarget(w, r, clientTarget{nodeID: id})
	return true
}

// agentMonitor serves /v1/agent/monitor: the agent's log from now on, at
// ?log_level (as JSON lines with ?log_json=true), in stream frames (raw
// text with ?plain=true).
func (h *httpAPI) agentMonitor(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	level, err := logstream.ParseLevel(q.Get("log_level"))
	if err != nil {
		h.writeError(w, r, codedError(http.StatusBadRequest, "%v", err))
		return
	}
	if h.forwardAgentTarget(w, r) {
		return
	}
	asJSON, _ := strconv.ParseBool(q.Get("log_json"))
	plain, _ := strconv.ParseBool(q.Get("plain"))
	follower := h.agent.logs.Follow(level, asJSON)
	defer follower.Stop()

	if plain {
		w.Header().Set("Content-Type", "text/plain")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	flush()
	enc := json.NewEncoder(w)
	beat := time.NewTicker(eventHeartbeat)
	defer beat.Stop()
	for {
		var frame api.StreamFrame
		select {
		case <-r.Context().Done():
			return
		case <-h.stopping:
			return
		case <-beat.C:
			if plain {
				continue
			}
		case line := <-follower.Lines():
			frame.Data = line
		}
		if plain {
			_, err = w.Write(frame.Data)
		} else {
			err = enc.Encode(&frame)
		}
		if err != nil {
			return
		}
		flush()
	}
}

// agentPprof serves /v1/agent/pprof/<profile> with net/http/pprof: with
// ACLs on it needs agent write, with them off the agent's enable_debug (or
// -dev), as in Nomad.
func (h *httpAPI) agentPprof(w http.ResponseWriter, r *http.Request) {
	// The agent that answers decides whether it allows profiling.
	if h.forwardAgentTarget(w, r) {
		return
	}
	cfg := h.agent.config
	if !cfg.ACL.Enabled && !cfg.EnableDebug && !cfg.DevMode {
		h.writeError(w, r, server.ErrPermissionDenied)
		return
	}
	// The Go client always sends seconds, debug and gc, 0 when unset;
	// net/http/pprof takes an absent value for the default and refuses 0
	// seconds. CPU profiles and traces default to one second, as Nomad's.
	name := strings.TrimPrefix(r.URL.Path, "/v1/agent/pprof/")
	q := r.URL.Query()
	for _, p := range []string{"seconds", "gc"} {
		if v := q.Get(p); v == "" || v == "0" {
			q.Del(p)
		}
	}
	if (name == "profile" || name == "trace") && q.Get("seconds") == "" {
		q.Set("seconds", "1")
	}
	r.URL.RawQuery = q.Encode()
	switch name {
	case "", "index":
		pprof.Index(w, r)
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
}
