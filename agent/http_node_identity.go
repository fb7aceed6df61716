package agent

import (
	"net/http"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// clientIntroductionToken serves PUT
// /v1/acl/identity/client-introduction-token: a signed token a new client
// node can be introduced with (scoped to a node name and pool).
func (h *httpAPI) clientIntroductionToken(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.ACLIdentityClientIntroductionTokenRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	jwt, err := h.srv.CreateClientIntroductionToken(&structs.ClientIntroductionTokenArgs{
		TTL: req.TTL, NodeName: req.NodeName, NodePool: req.NodePool})
	if err != nil {
		return nil, err
	}
	setIndex(w, max(h.srv.State().Snapshot().LatestIndex(), 1))
	return &api.ACLIdentityClientIntroductionTokenResponse{JWT: jwt}, nil
}
