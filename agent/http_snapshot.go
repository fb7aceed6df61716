package agent

import (
	"net/http"
	"strconv"
)

// operatorSnapshot serves /v1/operator/snapshot: GET streams a snapshot of
// the cluster state, PUT restores one.
func (h *httpAPI) operatorSnapshot(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/octet-stream")
		index := h.srv.State().Snapshot().LatestIndex()
		w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
		if _, err := h.srv.SaveSnapshot(w); err != nil {
			h.logger.Error("save snapshot", "error", err)
		}
		return nil, nil
	case http.MethodPut, http.MethodPost:
		return nil, h.srv.RestoreSnapshot(r.Body)
	}
	return nil, methodNotAllowed()
}
