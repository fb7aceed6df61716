package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/roam-project/roam/server"
)

// localOnly are paths every agent answers itself: its own view, not the
// cluster's.
var localOnly = []string{"/v1/agent/", "/v1/status/", "/v1/client/", "/v1/metrics", "/v1/regions"}

// maxReplayBody is the largest request body kept in memory so that a
// request can be sent again to a new leader; a larger one (a snapshot
// restore) is sent once.
const maxReplayBody = 64 << 20

// toLeader sends a request that needs the cluster's authoritative state to
// the leader: on a follower, it is proxied to the leader's HTTP API; on
// the leader, a read first confirms leadership with a quorum, so that no
// read returns state older than an acknowledged write. Reads with ?stale
// are served locally by any server, as in Nomad. While there is no leader,
// or the leader it tried is gone, the request waits for the next one (up
// to server.HoldTimeout) before it fails with 503.
func (h *httpAPI) toLeader(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.srv == nil || isLocalOnly(r.URL.Path) {
			next(w, r)
			return
		}
		if r.Header.Get(forwardedHeader) != "" {
			// Another server sent this here as the leader's; one that no
			// longer leads says so, and the sender tries the next leader.
			if !h.srv.IsLeader() || (r.Method == http.MethodGet && h.srv.VerifyLeader() != nil) {
				h.writeError(w, r, server.ErrNoLeader)
				return
			}
			next(w, r)
			return
		}
		if _, stale := r.URL.Query()["stale"]; stale && r.Method == http.MethodGet {
			next(w, r)
			return
		}
		h.forwardToLeader(w, r, next, h.serverLeader)
	}
}

// leaderView is where a request for the leader can go now: this agent
// (self), the leader's HTTP API (httpAddr), or, for a write when only the
// leader's RPC address is known (rpcOnly), this server's own forwarding
// over RPC.
type leaderView struct {
	self     bool
	httpAddr string
	rpcOnly  bool
}

// serverLeader is a server agent's view of the leader.
func (h *httpAPI) serverLeader(context.Context) leaderView {
	if h.srv.IsLeader() {
		return leaderView{self: true}
	}
	if addr := h.srv.LeaderHTTPAddr(); addr != "" {
		return leaderView{httpAddr: addr}
	}
	return leaderView{rpcOnly: h.srv.Leader() != ""}
}

// forwardToLeader serves r where leader says the leader is: locally with
// local, or proxied. A request that found no leader, or whose proxied
// attempt failed before the leader answered (it went away, or no longer
// leads), is tried again after a short wait, for up to server.HoldTimeout;
// then it is answered 503 with Retry-After.
func (h *httpAPI) forwardToLeader(w http.ResponseWriter, r *http.Request, local http.HandlerFunc, leader func(context.Context) leaderView) {
	body, err := newReplayBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	deadline := time.Now().Add(server.HoldTimeout)
	for attempt := 0; ; attempt++ {
		view := leader(r.Context())
		switch {
		case view.self && (r.Method != http.MethodGet || h.srv.VerifyLeader() == nil):
			r.Body = body.next()
			local(w, r)
			return
		case view.httpAddr != "":
			if h.proxyOnce(w, r, view.httpAddr, body.next()) {
				return
			}
		case view.rpcOnly && r.Method != http.MethodGet:
			// Serving a read here could return stale state; a write is
			// forwarded by the server itself.
			r.Body = body.next()
			local(w, r)
			return
		}
		if !body.replayable() || !time.Now().Before(deadline) || r.Context().Err() != nil {
			h.writeError(w, r, server.ErrNoLeader)
			return
		}
		select {
		case <-r.Context().Done():
		case <-time.After(server.RetryBackoff(attempt)):
		}
	}
}

// errUpstreamNoLeader marks a proxied request the other server answered
// with "no leader": it was not taken, so it can go to the next leader.
var errUpstreamNoLeader = errors.New("the server proxied to has no leader")

// proxyOnce sends r, with body, to the leader's HTTP API at addr, marked
// as forwarded so that it is not forwarded again. It reports whether the
// leader answered; when it did not (unreachable, or not the leader any
// more), nothing was written to w.
func (h *httpAPI) proxyOnce(w http.ResponseWriter, r *http.Request, addr string, body io.ReadCloser) bool {
	answered := true
	scheme, transport := h.forwardTransport()
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: scheme, Host: addr})
	proxy.Transport = transport
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(noLeaderHeader) != "" {
			return errUpstreamNoLeader
		}
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		answered = false
		h.logger.Debug("forward to leader failed, waiting for a leader", "leader", addr, "path", r.URL.Path, "error", err)
	}
	out := r.Clone(r.Context())
	out.Body = body
	out.Header.Set(forwardedHeader, "1")
	proxy.ServeHTTP(w, out)
	return answered
}

// proxyToLeader answers, on a client-only agent, a request for the
// servers: proxied to the leader's HTTP API, whose address the servers
// give, waiting for a leader as forwardToLeader does.
func (h *httpAPI) proxyToLeader(w http.ResponseWriter, r *http.Request, leaderAddr func(context.Context) (string, error)) {
	h.forwardToLeader(w, r, nil, func(ctx context.Context) leaderView {
		ctx, cancel := context.WithTimeout(ctx, server.HoldTimeout)
		defer cancel()
		addr, err := leaderAddr(ctx)
		if err != nil {
			return leaderView{}
		}
		return leaderView{httpAddr: addr}
	})
}

// replayBody keeps a request body in memory so that each attempt sends it
// whole; one over maxReplayBody is streamed, once.
type replayBody struct {
	buf      []byte
	stream   io.ReadCloser // set when the body is too large to keep
	attempts int
}

func newReplayBody(r *http.Request) (*replayBody, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return &replayBody{}, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, codedError(http.StatusRequestEntityTooLarge, "Request body too large: the limit is %d bytes", tooLarge.Limit)
		}
		return nil, codedError(http.StatusBadRequest, "Failed to read request body: %v", err)
	}
	if len(buf) > maxReplayBody {
		return &replayBody{stream: readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}}, nil
	}
	return &replayBody{buf: buf}, nil
}

// next is the body for the next attempt.
func (b *replayBody) next() io.ReadCloser {
	b.attempts++
	if b.stream != nil {
		return b.stream
	}
	return io.NopCloser(bytes.NewReader(b.buf))
}

// replayable reports whether another attempt can send the body again.
func (b *replayBody) replayable() bool { return b.stream == nil || b.attempts == 0 }

type readCloser struct {
	io.Reader
	io.Closer
}

// forwardedHeader marks a request one server already forwarded, so that a
// leadership change in flight cannot make it bounce between servers.
const forwardedHeader = "X-Roam-Forwarded"

// noLeaderHeader marks a 503 answered because there was no leader (the
// request was not taken), as opposed to any other unavailability.
const noLeaderHeader = "X-Roam-No-Leader"

func isLocalOnly(path string) bool {
	for _, p := range localOnly {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
