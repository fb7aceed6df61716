package agent

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// localOnly are paths every agent answers itself: its own view, not the
// cluster's.
var localOnly = []string{"/v1/agent/", "/v1/status/", "/v1/client/"}

// toLeader sends a request that needs the cluster's authoritative state to
// the leader: on a follower, it is proxied to the leader's HTTP API; on
// the leader, a read first confirms leadership with a quorum, so that no
// read returns state older than an acknowledged write. Reads with ?stale
// are served locally by any server, as in Nomad.
func (h *httpAPI) toLeader(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.srv == nil || isLocalOnly(r.URL.Path) || r.Header.Get(forwardedHeader) != "" {
			next(w, r)
			return
		}
		if _, stale := r.URL.Query()["stale"]; stale && r.Method == http.MethodGet {
			next(w, r)
			return
		}
		if h.srv.IsLeader() {
			if r.Method == http.MethodGet {
				if err := h.srv.VerifyLeader(); err != nil {
					h.writeError(w, r, err)
					return
				}
			}
			next(w, r)
			return
		}
		addr := h.srv.LeaderHTTPAddr()
		if addr == "" {
			if r.Method == http.MethodGet {
				// Serving the read here could return stale state.
				h.writeError(w, r, errNoLeader)
				return
			}
			// The server forwards writes itself, over RPC.
			next(w, r)
			return
		}
		h.proxyToLeader(w, r, addr)
	}
}

// proxyToLeader sends a request on to the leader's HTTP API at addr, marked
// as forwarded so that it is not forwarded again.
func (h *httpAPI) proxyToLeader(w http.ResponseWriter, r *http.Request, addr string) {
	scheme, transport := h.forwardTransport()
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: scheme, Host: addr})
	proxy.Transport = transport
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		h.logger.Warn("forward to leader failed", "leader", addr, "path", r.URL.Path, "error", err)
		http.Error(w, "No cluster leader", http.StatusInternalServerError)
	}
	r.Header.Set(forwardedHeader, "1")
	proxy.ServeHTTP(w, r)
}

// errNoLeader answers a consistent read no server can serve right now.
var errNoLeader = codedError(http.StatusInternalServerError, "No cluster leader")

// forwardedHeader marks a request one server already forwarded, so that a
// leadership change in flight cannot make it bounce between servers.
const forwardedHeader = "X-Roam-Forwarded"

func isLocalOnly(path string) bool {
	for _, p := range localOnly {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
