package agent

import (
	"context"
	"net/http"
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
		h.proxyToLeader(w, r, addr)
	}
}
