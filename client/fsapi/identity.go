package fsapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client"
)

// identityWait is how long a read of the node identity waits for the
// first one, which the servers sign just after the node registers.
const identityWait = 5 * time.Second

// identityRead serves GET /v1/client/identity: the claims of the node's
// identity.
func (h *handler) identityRead(w http.ResponseWriter, r *http.Request) error {
	if err := h.ownNode(r.URL.Query().Get("node_id")); err != nil {
		return err
	}
	claims, err := h.c.NodeIdentityClaims(identityWait)
	if errors.Is(err, client.ErrNoNodeIdentity) {
		return notFound("%v", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, &api.NodeIdentityGetResponse{Claims: claims})
}

// identityRenew serves POST /v1/client/identity/renew: the node asks for
// a new identity, whatever the age of its current one.
func (h *handler) identityRenew(w http.ResponseWriter, r *http.Request) error {
	var req api.NodeIdentityRenewRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return badRequest("read request body: %v", err)
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return badRequest("decode request body: %v", err)
		}
	}
	if err := h.ownNode(req.NodeID); err != nil {
		return err
	}
	h.c.RenewNodeIdentity()
	return writeJSON(w, &api.NodeIdentityRenewResponse{})
}
