package fsapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client"
)

// metadataRead serves GET /v1/client/metadata: the node's merged, dynamic
// and static metadata.
func (h *handler) metadataRead(w http.ResponseWriter, r *http.Request) error {
	if err := h.ownNode(r.URL.Query().Get("node_id")); err != nil {
		return err
	}
	return writeJSON(w, h.c.NodeMeta())
}

// metadataApply serves POST /v1/client/metadata: dynamic metadata
// updates, a null value unsetting a key.
func (h *handler) metadataApply(w http.ResponseWriter, r *http.Request) error {
	var req api.NodeMetaApplyRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return badRequest("read request body: %v", err)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return badRequest("decode request body: %v", err)
	}
	if err := h.ownNode(req.NodeID); err != nil {
		return err
	}
	resp, err := h.c.ApplyNodeMeta(req.Meta)
	if errors.Is(err, client.ErrInvalidNodeMeta) {
		return badRequest("%v", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, resp)
}

// ownNode refuses a request naming another node than this one.
func (h *handler) ownNode(id string) error {
	if id != "" && id != h.c.Node().ID {
		return notFound("Unknown node %q", id)
	}
	return nil
}
