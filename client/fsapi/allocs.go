package fsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hashicorp/nomad/api"
)

// allocStats serves /v1/client/allocation/:id/stats.
func (h *handler) allocStats(w http.ResponseWriter, r *http.Request) error {
	ar, err := h.runner(r)
	if err != nil {
		return err
	}
	return writeJSON(w, ar.Stats(r.Context()))
}

// decodeBody reads an optional JSON body into v.
func decodeBody(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &codedError{http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body too large: the limit is %d bytes", tooLarge.Limit)}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return badRequest("failed to decode request body: %v", err)
	}
	return nil
}

// restart serves /v1/client/allocation/:id/restart.
func (h *handler) restart(w http.ResponseWriter, r *http.Request) error {
	ar, err := h.runner(r)
	if err != nil {
		return err
	}
	var req api.AllocationRestartRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	task := req.TaskName
	if req.AllTasks {
		task = ""
	}
	if err := ar.Restart(r.Context(), task); err != nil {
		return err
	}
	return writeJSON(w, struct{}{})
}

// signal serves /v1/client/allocation/:id/signal.
func (h *handler) signal(w http.ResponseWriter, r *http.Request) error {
	ar, err := h.runner(r)
	if err != nil {
		return err
	}
	var req api.AllocSignalRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	sig := req.Signal
	if sig == "" {
		sig = "SIGKILL"
	}
	if err := ar.Signal(req.Task, sig); err != nil {
		return err
	}
	return writeJSON(w, api.GenericResponse{})
}

// hostStats serves /v1/client/stats.
func (h *handler) hostStats(w http.ResponseWriter, r *http.Request) error {
	stats, err := h.c.HostStats()
	if err != nil {
		return err
	}
	return writeJSON(w, stats)
}

// allocGC serves /v1/client/allocation/:id/gc.
func (h *handler) allocGC(w http.ResponseWriter, r *http.Request) error {
	if err := h.c.GCAlloc(r.Context(), r.PathValue("alloc")); err != nil {
		return err
	}
	return writeJSON(w, struct{}{})
}

// gc serves /v1/client/gc; its answer is empty, as Nomad's.
func (h *handler) gc(w http.ResponseWriter, r *http.Request) error {
	return h.c.GC(r.Context())
}
