package agent

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/roam-project/roam/client/rpcservers"
)

// serversProxy answers, on an agent that runs only a client, the API
// requests only servers can answer, by proxying them to the leader's HTTP
// API, as Nomad's client agents forward them. The leader's address is
// asked of the servers over RPC.
func serversProxy(servers *rpcservers.Set, h *httpAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		addr, err := servers.LeaderHTTPAddr(ctx)
		cancel()
		if err != nil {
			h.writeError(w, r, codedError(http.StatusInternalServerError, "No cluster leader"))
			return
		}
		proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
		proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			h.logger.Warn("forward to leader failed", "leader", addr, "path", r.URL.Path, "error", err)
			http.Error(w, "No cluster leader", http.StatusInternalServerError)
		}
		r.Header.Set(forwardedHeader, "1")
		proxy.ServeHTTP(w, r)
	}
}
