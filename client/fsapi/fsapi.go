// Package fsapi serves the client's HTTP endpoints under /v1/client: the
// allocation filesystem (ls, stat, cat, readat, stream, logs), allocation
// stats, restart and signal, and host stats, with Nomad's paths, parameters,
// JSON and errors, so the official API client and CLI work against them.
package fsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/roam-project/roam/client"
	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/client/allocrunner"
)

// codedError is an error with the HTTP status it answers with.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &codedError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &codedError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

type handler struct {
	c *client.Client
}

// Handler serves /v1/client/... for c.
func Handler(c *client.Client) http.Handler {
	h := &handler{c: c}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/client/fs/ls/{alloc}", h.wrap(h.list))
	mux.HandleFunc("GET /v1/client/fs/stat/{alloc}", h.wrap(h.stat))
	mux.HandleFunc("GET /v1/client/fs/cat/{alloc}", h.wrap(h.cat))
	mux.HandleFunc("GET /v1/client/fs/readat/{alloc}", h.wrap(h.readAt))
	mux.HandleFunc("GET /v1/client/fs/stream/{alloc}", h.wrap(h.stream))
	mux.HandleFunc("GET /v1/client/fs/logs/{alloc}", h.wrap(h.logs))
	mux.HandleFunc("GET /v1/client/allocation/{alloc}/stats", h.wrap(h.allocStats))
	mux.HandleFunc("GET /v1/client/allocation/{alloc}/checks", h.wrap(h.allocChecks))
	for _, method := range []string{"PUT", "POST"} {
		mux.HandleFunc(method+" /v1/client/allocation/{alloc}/restart", h.wrap(h.restart))
		mux.HandleFunc(method+" /v1/client/allocation/{alloc}/signal", h.wrap(h.signal))
	}
	mux.HandleFunc("GET /v1/client/allocation/{alloc}/gc", h.wrap(h.allocGC))
	mux.HandleFunc("GET /v1/client/allocation/{alloc}/exec", h.wrap(h.exec))
	mux.HandleFunc("GET /v1/client/stats", h.wrap(h.hostStats))
	mux.HandleFunc("GET /v1/client/gc", h.wrap(h.gc))
	mux.HandleFunc("GET /v1/client/metadata", h.wrap(h.metadataRead))
	mux.HandleFunc("GET /v1/client/identity", h.wrap(h.identityRead))
	for _, method := range []string{"PUT", "POST"} {
		mux.HandleFunc(method+" /v1/client/metadata", h.wrap(h.metadataApply))
		mux.HandleFunc(method+" /v1/client/identity/renew", h.wrap(h.identityRenew))
	}
	return mux
}

// wrap turns an error into Nomad's plain-text error response, or for a
// websocket request (exec) into the close message Nomad's API client
// reports.
func (h *handler) wrap(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		if websocket.IsWebSocketUpgrade(r) {
			WebsocketError(w, r, err.Error())
			return
		}
		code := http.StatusInternalServerError
		var ce *codedError
		switch {
		case errors.As(err, &ce):
			code = ce.code
		case errors.Is(err, client.ErrUnknownAllocation), errors.Is(err, allocrunner.ErrUnknownTask):
			code = http.StatusNotFound
		case errors.Is(err, allocdir.ErrEscapes), errors.Is(err, client.ErrAllocNotTerminal):
			code = http.StatusBadRequest
		}
		http.Error(w, err.Error(), code)
	}
}

func (h *handler) runner(r *http.Request) (*allocrunner.AllocRunner, error) {
	return h.c.AllocRunner(r.PathValue("alloc"))
}

func writeJSON(w http.ResponseWriter, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(data)
	return err
}
