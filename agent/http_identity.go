package agent

import (
	"net/http"

	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/state"
)

// jwks serves /.well-known/jwks.json: the public keys that verify
// workload identities, for anyone (a blocking query on the keyring).
func (h *httpAPI) jwks(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	var keys []identity.PublicKey
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var index uint64
		var err error
		keys, index, err = h.srv.PublicSigningKeys(snap)
		return index, err
	})
	if err != nil {
		return nil, err
	}
	return identity.KeySet(keys), nil
}

// oidcDiscovery serves /.well-known/openid-configuration, for anyone, once
// server.oidc_issuer is set (404 before, as in Nomad).
func (h *httpAPI) oidcDiscovery(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	issuer := h.srv.OIDCIssuer()
	if issuer == "" {
		return nil, codedError(http.StatusNotFound, "OIDC Discovery endpoint disabled: set server.oidc_issuer to enable it")
	}
	return identity.DiscoveryFor(issuer), nil
}
