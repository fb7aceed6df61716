package agent

import (
	"net/http"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
)

// periodicForceResponse is Nomad's answer to /v1/job/<id>/periodic/force
// (the api module keeps its own copy unexported).
type periodicForceResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	Index           uint64
}

// jobPeriodicForce serves /v1/job/<id>/periodic/force: launch one child
// of a periodic job now.
func (h *httpAPI) jobPeriodicForce(w http.ResponseWriter, r *http.Request, ns, id string) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	res, err := h.srv.ForcePeriodicRun(ns, id)
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return &periodicForceResponse{EvalID: res.EvalID, EvalCreateIndex: res.EvalCreateIndex, Index: res.Index}, nil
}

// jobDispatch serves /v1/job/<id>/dispatch: create an instance of a
// parameterized job.
func (h *httpAPI) jobDispatch(w http.ResponseWriter, r *http.Request, ns, id string) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.JobDispatchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.JobID != "" && req.JobID != id {
		return nil, codedError(http.StatusBadRequest, "Job ID does not match")
	}
	res, err := h.srv.DispatchJob(&server.DispatchArgs{
		Namespace: ns, JobID: id, Payload: req.Payload, Meta: req.Meta,
		IDPrefixTemplate: req.IdPrefixTemplate, Priority: req.Priority,
		IdempotencyToken: r.URL.Query().Get("idempotency_token"),
	})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return &api.JobDispatchResponse{
		DispatchedJobID: res.DispatchedJobID, EvalID: res.EvalID,
		EvalCreateIndex: res.EvalCreateIndex, JobCreateIndex: res.JobCreateIndex,
	}, nil
}
