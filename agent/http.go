package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
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
	// jobBodyLimit caps the bodies of job registrations (see bodyLimit).
	jobBodyLimit int64
	// resolver resolves request tokens; nil when ACLs are off.
	resolver tokenResolver
	// stopping is closed when the HTTP server starts shutting down, which
	// ends the streams (events, logs) that would otherwise hold it open.
	stopping chan struct{}
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
	case errors.Is(err, server.ErrNoLeader):
		// Not taken: the client may send it again once a leader is elected.
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
		w.Header().Set(noLeaderHeader, "1")
	}
	if code >= 500 {
		h.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprint(w, msg)
}

// Request body limits. A job registration, plan, validation or parse
// carries a whole job and may carry its source file and variables, so it
// may take jobBodyBase plus twice the server's job_max_source_size (the
// source, JSON-escaped); a snapshot restore is a whole cluster state and
// is not limited; every other request fits in defaultBodyLimit.
const (
	defaultBodyLimit = 1 << 20
	jobBodyBase      = 8 << 20
	noBodyLimit      = -1
)

// bodyLimit is the largest request body path accepts, noBodyLimit for
// none.
func (h *httpAPI) bodyLimit(path string) int64 {
	switch {
	case path == "/v1/operator/snapshot":
		return noBodyLimit
	case path == "/v1/jobs", path == "/v1/jobs/parse", path == "/v1/validate/job", strings.HasPrefix(path, "/v1/job/"):
		return h.jobBodyLimit
	}
	return defaultBodyLimit
}

// guard protects every handler behind it: request bodies are capped at
// bodyLimit (413 beyond), and a panic is logged with its stack and
// answered with a 500 instead of dropping the connection.
func (h *httpAPI) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { // net/http's own way to abort a response
				panic(v)
			}
			h.logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			http.Error(w, "Internal error: the request could not be served", http.StatusInternalServerError)
		}()
		if limit := h.bodyLimit(r.URL.Path); limit != noBodyLimit && r.Body != nil {
			if r.ContentLength > limit {
				h.writeError(w, r, codedError(http.StatusRequestEntityTooLarge, "Request body too large: the limit is %d bytes", limit))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// decodeBody reads a JSON request body into out.
func decodeBody(r *http.Request, out any) error {
	if r.Body == nil {
		return codedError(http.StatusBadRequest, "Request body is empty")
	}
	body, err := io.ReadAll(r.Body)
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return codedError(http.StatusRequestEntityTooLarge, "Request body too large: the limit is %d bytes", tooLarge.Limit)
	}
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
		opts.namespace = structs.DefaultNamespace
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

// inNamespace reports whether an object of namespace ns belongs in the
// answer: the query's namespace, or any with "*".
func (o queryOptions) inNamespace(ns string) bool {
	return o.namespace == structs.AllNamespaces || o.namespace == ns
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
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
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
