package agent

import (
	"net/http"

	"github.com/roam-project/roam/client/rpcservers"
)

// serversProxy answers, on an agent that runs only a client, the API
// requests only servers can answer, by proxying them to the leader's HTTP
// API, as Nomad's client agents forward them. The leader's address is
// asked of the servers over RPC.
func serversProxy(servers *rpcservers.Set, h *httpAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.proxyToLeader(w, r, servers.LeaderHTTPAddr)
	}
}
