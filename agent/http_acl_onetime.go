package agent

import (
	"net/http"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// aclOneTimeToken serves PUT /v1/acl/token/onetime: a one-time token for
// the caller's own token.
func (h *httpAPI) aclOneTimeToken(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	res, err := h.srv.UpsertOneTimeToken(&structs.OneTimeTokenUpsertArgs{WriteRequest: writeRequest(r)})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return &api.OneTimeTokenUpsertResponse{OneTimeToken: res.Token}, nil
}

// aclOneTimeExchange serves PUT /v1/acl/token/onetime/exchange: the
// one-time secret in the body is the credential, spent by the exchange.
func (h *httpAPI) aclOneTimeExchange(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.OneTimeTokenExchangeRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	res, err := h.srv.ExchangeOneTimeToken(&structs.OneTimeTokenExchangeArgs{OneTimeSecretID: req.OneTimeSecretID})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return &api.OneTimeTokenExchangeResponse{Token: res.Token}, nil
}
