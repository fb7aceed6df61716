package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
)

// httpError is an error with the HTTP status it answers with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func codedError(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// handlerFunc answers a request with a value to encode as JSON, or an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// httpAPI serves Nomad's /v1 HTTP API over a server (and, when the agent
// runs one, a client).
type httpAPI struct {
	srv    *server.Server
	agent  *Agent
	logger *slog.Logger
	mux    *http.ServeMux
	// resolver resolves request tokens; nil when ACLs are off.
	resolver tokenResolver
}

// wrap turns a handlerFunc into an http.HandlerFunc: it encodes the result
// as JSON (indented with ?pretty), and maps errors to Nomad's status codes.
func (h *httpAPI) wrap(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		obj, err := fn(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if obj == nil {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		if _, ok := r.URL.Query()["pretty"]; ok {
			enc.SetIndent("", "    ")
		}
		if err := enc.Encode(obj); err != nil {
			h.logger.Debug("write response", "path", r.URL.Path, "error", err)
		}
	}
}

func (h *httpAPI) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	msg := err.Error()
	var coded *httpError
	switch {
	case errors.As(err, &coded):
		code = coded.code
	case isACLError(err):
		code = http.StatusForbidden
	case errors.Is(err, server.ErrNotFound), errors.Is(err, state.ErrNotFound):
		code = http.StatusNotFound
		msg = strings.TrimSuffix(strings.TrimSuffix(msg, server.ErrNotFound.Error()), ": ")
	case errors.Is(err, server.ErrInvalid):
		code = http.StatusBadRequest
		msg = strings.TrimPrefix(msg, server.ErrInvalid.Error()+": ")
	}
	if code >= 500 {
		h.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprint(w, msg)
}

// decodeBody reads a JSON request body into out.
func decodeBody(r *http.Request, out any) error {
	if r.Body == nil {
		return codedError(http.StatusBadRequest, "Request body is empty")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return codedError(http.StatusBadRequest, "Failed to read request body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return codedError(http.StatusBadRequest, "Request body is empty")
	}
	return decodeJSON(body, out)
}

// decodeJSON decodes a request body already read.
func decodeJSON(body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return codedError(http.StatusBadRequest, "Failed to decode request body: %v", err)
	}
	return nil
}

// queryOptions are the blocking-query and filter parameters of a read.
type queryOptions struct {
	minIndex  uint64
	wait      time.Duration
	prefix    string
	namespace string
	stale     bool
}

func parseQuery(r *http.Request) (queryOptions, error) {
	q := r.URL.Query()
	opts := queryOptions{prefix: q.Get("prefix"), namespace: q.Get("namespace")}
	if opts.namespace == "" {
		opts.namespace = "default"
	}
	if v := q.Get("index"); v != "" {
		idx, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return opts, codedError(http.StatusBadRequest, "Invalid index: %v", err)
		}
		opts.minIndex = idx
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return opts, codedError(http.StatusBadRequest, "Invalid wait time")
		}
		opts.wait = min(d, 10*time.Minute)
	}
	_, opts.stale = q["stale"]
	return opts, nil
}

// blockingRead runs query as a blocking query and sets Nomad's index and
// leader headers.
func (h *httpAPI) blockingRead(w http.ResponseWriter, r *http.Request, query state.QueryFunc) error {
	opts, err := parseQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	index, err := h.srv.State().BlockingQuery(ctx, opts.minIndex, opts.wait, query)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return codedError(http.StatusRequestTimeout, "request cancelled")
		}
		return err
	}
	h.setMeta(w, index)
	return nil
}

// setMeta writes the X-Nomad-* headers of a read.
func (h *httpAPI) setMeta(w http.ResponseWriter, index uint64) {
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(max(index, 1), 10))
	w.Header().Set("X-Nomad-KnownLeader", strconv.FormatBool(h.srv.Leader() != ""))
	w.Header().Set("X-Nomad-LastContact", strconv.FormatInt(h.srv.LastContact().Milliseconds(), 10))
}

// setIndex writes X-Nomad-Index for a write.
func setIndex(w http.ResponseWriter, index uint64) {
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
}

// methodNotAllowed answers a method a path does not support.
func methodNotAllowed() error {
	return codedError(http.StatusMethodNotAllowed, "Invalid method")
}
