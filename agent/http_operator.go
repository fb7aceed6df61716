package agent

import (
	"net/http"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// schedulerConfiguration serves /v1/operator/scheduler/configuration: GET
// reads it, PUT/POST sets it (?cas=N only while its ModifyIndex is N).
func (h *httpAPI) schedulerConfiguration(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
		out := &api.SchedulerConfigurationResponse{}
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			cfg, err := snap.SchedulerConfig()
			out.SchedulerConfig = cfg
			return snap.ConfigIndex(), err
		})
		return out, err
	case http.MethodPut, http.MethodPost:
		var cfg api.SchedulerConfiguration
		if err := decodeBody(r, &cfg); err != nil {
			return nil, err
		}
		cas, err := casParam(r, &cfg.ModifyIndex)
		if err != nil {
			return nil, err
		}
		reply, err := h.srv.SetSchedulerConfig(secretOf(r), &cfg, cas)
		if err != nil {
			return nil, err
		}
		setIndex(w, reply.Index)
		return map[string]any{"Updated": reply.Updated, "Index": reply.Index}, nil
	}
	return nil, methodNotAllowed()
}

// autopilotConfiguration serves /v1/operator/autopilot/configuration: GET
// reads it, PUT/POST sets it (?cas=N as for the scheduler's); a write
// answers whether it applied.
func (h *httpAPI) autopilotConfiguration(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
		var out *api.AutopilotConfiguration
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			var err error
			out, err = snap.AutopilotConfig()
			return snap.ConfigIndex(), err
		})
		return out, err
	case http.MethodPut, http.MethodPost:
		cfg := structs.DefaultAutopilotConfig()
		if err := decodeBody(r, cfg); err != nil {
			return nil, err
		}
		cas, err := casParam(r, &cfg.ModifyIndex)
		if err != nil {
			return nil, err
		}
		reply, err := h.srv.SetAutopilotConfig(secretOf(r), cfg, cas)
		if err != nil {
			return nil, err
		}
		setIndex(w, reply.Index)
		return reply.Updated, nil
	}
	return nil, methodNotAllowed()
}

// autopilotHealth serves /v1/operator/autopilot/health.
func (h *httpAPI) autopilotHealth(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	reply, err := h.srv.AutopilotHealth()
	if err != nil {
		return nil, err
	}
	if !reply.Healthy {
		// Nomad answers an unhealthy cluster with 429, body and all.
		w.WriteHeader(http.StatusTooManyRequests)
	}
	return reply, nil
}

// casParam reads ?cas=N into index; it reports whether the write is a
// check-and-set.
func casParam(r *http.Request, index *uint64) (bool, error) {
	v := r.URL.Query().Get("cas")
	if v == "" {
		return false, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return false, codedError(http.StatusBadRequest, "Error parsing cas value: %v", err)
	}
	*index = n
	return true, nil
}
