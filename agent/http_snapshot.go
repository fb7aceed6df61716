package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
)

// operatorSnapshot serves /v1/operator/snapshot: GET returns a snapshot of
// the cluster state with its SHA-256 in the Digest header (which the api
// client verifies), PUT restores one.
func (h *httpAPI) operatorSnapshot(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
		var buf bytes.Buffer
		index, err := h.srv.SaveSnapshot(&buf)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(buf.Bytes())
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(sum[:]))
		w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
		if _, err := w.Write(buf.Bytes()); err != nil {
			h.logger.Debug("write snapshot", "error", err)
		}
		return nil, nil
	case http.MethodPut, http.MethodPost:
		return nil, h.srv.RestoreSnapshot(r.Body)
	}
	return nil, methodNotAllowed()
}
