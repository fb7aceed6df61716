package agent

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/api/contexts"

	"github.com/roam-project/roam/search"
	"github.com/roam-project/roam/state"
)

// searchPrefix serves /v1/search: the IDs and names with a prefix, by
// context, that the token may read.
func (h *httpAPI) searchPrefix(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.SearchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	var out *api.SearchResponse
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		out, err = search.Prefix(snap, req.Prefix, h.searchRequest(r, req.Context))
		return snap.LatestIndex(), err
	})
	return out, searchError(err)
}

// searchFuzzy serves /v1/search/fuzzy: the names containing a text, with
// the objects they belong to.
func (h *httpAPI) searchFuzzy(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.FuzzySearchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	var out *api.FuzzySearchResponse
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		out, err = search.Fuzzy(snap, req.Text, h.searchRequest(r, req.Context))
		return snap.LatestIndex(), err
	})
	return out, searchError(err)
}

func (h *httpAPI) searchRequest(r *http.Request, ctx contexts.Context) search.Request {
	return search.Request{Context: ctx, Namespace: namespaceOf(r), ACL: callerACL(r)}
}

// searchError answers a search that cannot be made with 400.
func searchError(err error) error {
	if errors.Is(err, search.ErrInvalid) {
		return codedError(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), search.ErrInvalid.Error()+": "))
	}
	return err
}

// enterpriseOnly answers the endpoints of Nomad Enterprise (quotas,
// Sentinel policies, recommendations, licenses) as Nomad's community
// edition does.
func (h *httpAPI) enterpriseOnly(w http.ResponseWriter, r *http.Request) (any, error) {
	return nil, codedError(http.StatusNotImplemented, "Nomad Enterprise only endpoint")
}
