package agent

import (
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// agentKeyring serves /v1/agent/keyring/{list,install,use,remove}: the
// gossip encryption keyring of every server, changed through this one.
func (h *httpAPI) agentKeyring(w http.ResponseWriter, r *http.Request) (any, error) {
	op := strings.TrimPrefix(r.URL.Path, "/v1/agent/keyring/")
	var key string
	switch op {
	case "list":
		if r.Method != http.MethodGet {
			return nil, methodNotAllowed()
		}
	case "install", "use", "remove":
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return nil, methodNotAllowed()
		}
		var req api.KeyringRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, codedError(http.StatusBadRequest, "Key is required")
		}
		key = req.Key
	default:
		return nil, codedError(http.StatusNotFound, "unknown keyring operation %q", op)
	}
	resp, err := h.srv.GossipKeyring(op, key)
	if err != nil {
		return nil, err
	}
	return &api.KeyringResponse{Messages: resp.Messages, Keys: resp.Keys, NumNodes: resp.NumNodes}, nil
}
