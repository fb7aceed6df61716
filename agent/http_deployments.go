package agent

import (
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// deploymentsList serves /v1/deployments: those of ?namespace ("*": all).
func (h *httpAPI) deploymentsList(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.Deployment{}
	allowed := callerACL(r)
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		all, err := snap.Deployments(opts.prefix)
		out = out[:0]
		for _, d := range all {
			if opts.inNamespace(d.Namespace) && allowed.AllowNamespaceOperation(d.Namespace, acl.NamespaceCapabilityReadJob) {
				out = append(out, d)
			}
		}
		return snap.Index("deployments"), err
	})
	return page(w, r, out, err, deploymentKey)
}

// deploymentRequest serves /v1/deployment/<id> and the deployment actions
// /v1/deployment/{allocations,promote,fail,pause}/<id>.
func (h *httpAPI) deploymentRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/deployment/")
	action, id, ok := strings.Cut(path, "/")
	if !ok {
		return h.deploymentInfo(w, r, path)
	}
	if action == "allocations" {
		return h.deploymentAllocs(w, r, id)
	}
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var resp *api.DeploymentUpdateResponse
	var err error
	switch action {
	case "fail":
		resp, err = h.srv.FailDeployment(id)
	case "promote":
		var req api.DeploymentPromoteRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		resp, err = h.srv.PromoteDeployment(id, req.Groups, req.All)
	case "pause":
		var req api.DeploymentPauseRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		resp, err = h.srv.PauseDeployment(id, req.Pause)
	default:
		return nil, codedError(http.StatusNotFound, "unknown deployment action %q", action)
	}
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.DeploymentModifyIndex)
	return resp, nil
}

func (h *httpAPI) deploymentInfo(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	var d *api.Deployment
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		d, err = snap.DeploymentByID(id)
		if err != nil || d == nil {
			return snap.Index("deployments"), err
		}
		return d.ModifyIndex, nil
	})
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, codedError(http.StatusNotFound, "deployment not found")
	}
	return d, nil
}

func (h *httpAPI) deploymentAllocs(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	out := []*api.AllocationListStub{}
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		out = out[:0]
		d, err := snap.DeploymentByID(id)
		if err != nil || d == nil {
			return snap.Index("deployments", "allocs"), err
		}
		allocs, err := snap.AllocsByJob(d.Namespace, d.JobID)
		var shown []*api.Allocation
		for _, a := range allocs {
			if a.DeploymentID == id {
				shown = append(shown, a)
			}
		}
		if err != nil {
			return 0, err
		}
		// The stubs show the tasks' events.
		shown, err = snap.WithTaskEvents(shown)
		for _, a := range shown {
			out = append(out, structs.AllocStub(a))
		}
		return snap.Index("deployments", "allocs"), err
	})
	sortAllocs(out)
	return out, err
}

// jobDeployments serves /v1/job/<id>/deployments (all, newest first) and
// /v1/job/<id>/deployment (the newest, or null).
func (h *httpAPI) jobDeployments(w http.ResponseWriter, r *http.Request, ns, id string, latest bool) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	out := []*api.Deployment{}
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		all, err := snap.DeploymentsByJob(ns, id)
		out = append(out[:0], all...)
		return snap.Index("deployments"), err
	})
	if err != nil {
		return nil, err
	}
	if !latest {
		return out, nil
	}
	if len(out) == 0 {
		return (*api.Deployment)(nil), nil
	}
	return out[0], nil
}
