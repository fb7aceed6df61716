package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/fsapi"
	"github.com/roam-project/roam/structs"
)

// clientForwardedHeader marks a /v1/client request an agent sent on to
// the node it is about: that node answers it itself.
const clientForwardedHeader = "X-Roam-Client-Forwarded"

// clientTarget is what a /v1/client request is about: an allocation, or
// a node ("" for the agent's own).
type clientTarget struct {
	allocID, nodeID string
}

// clientTargetOf reads what r is about. A metadata update and an
// identity renewal name their node in the body, which is put back for the
// handler.
func clientTargetOf(r *http.Request) (clientTarget, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/client/")
	switch {
	case strings.HasPrefix(path, "allocation/"):
		id, _, _ := strings.Cut(strings.TrimPrefix(path, "allocation/"), "/")
		return clientTarget{allocID: id}, nil
	case strings.HasPrefix(path, "fs/"):
		_, rest, _ := strings.Cut(strings.TrimPrefix(path, "fs/"), "/")
		id, _, _ := strings.Cut(rest, "/")
		return clientTarget{allocID: id}, nil
	case (path == "metadata" || path == "identity/renew") && r.Method != http.MethodGet && r.Body != nil:
		body, err := io.ReadAll(io.LimitReader(r.Body, defaultBodyLimit))
		if err != nil {
			return clientTarget{}, codedError(http.StatusBadRequest, "Failed to read request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct{ NodeID string }
		if len(body) == 0 {
			return clientTarget{}, nil
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return clientTarget{}, codedError(http.StatusBadRequest, "Failed to decode request body: %v", err)
		}
		return clientTarget{nodeID: req.NodeID}, nil
	}
	return clientTarget{nodeID: r.URL.Query().Get("node_id")}, nil
}

// clientRequest serves /v1/client/...: requests about this agent's own
// node and allocations are answered by its client (local); the others
// go to the node they are about, found in the servers' state, as Nomad's
// servers forward client requests. A client-only agent sends those to
// the leader, which knows where they go.
func (h *httpAPI) clientRequest(local http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if local != nil && r.Header.Get(clientForwardedHeader) != "" {
			local.ServeHTTP(w, r)
			return
		}
		target, err := clientTargetOf(r)
		if err != nil {
			h.clientError(w, r, err)
			return
		}
		if local != nil && h.isLocalTarget(target) {
			local.ServeHTTP(w, r)
			return
		}
		h.forwardToTarget(w, r, target)
	}
}

// forwardToTarget sends r to the node target is about: a server finds it
// in its state, a client-only agent sends r to the leader, which does.
func (h *httpAPI) forwardToTarget(w http.ResponseWriter, r *http.Request, target clientTarget) {
	if h.srv == nil {
		if h.agent == nil || h.agent.remote == nil {
			h.clientError(w, r, codedError(http.StatusInternalServerError, "no servers to find the node with"))
			return
		}
		h.proxyToLeader(w, r, h.agent.remote.LeaderHTTPAddr)
		return
	}
	node, err := h.targetNode(target)
	if err != nil {
		h.clientError(w, r, err)
		return
	}
	h.proxyToNode(w, r, node)
}

// isLocalTarget reports whether this agent's client holds target.
func (h *httpAPI) isLocalTarget(t clientTarget) bool {
	c := h.agent.client
	if t.allocID != "" {
		_, err := c.AllocRunner(t.allocID)
		return err == nil
	}
	return t.nodeID == "" || t.nodeID == c.Node().ID
}

// targetNode finds, in the servers' state, the node target is about.
func (h *httpAPI) targetNode(t clientTarget) (*api.Node, error) {
	snap := h.srv.State().Snapshot()
	nodeID := t.nodeID
	if t.allocID != "" {
		alloc, err := snap.AllocByID(t.allocID)
		if err != nil {
			return nil, err
		}
		if alloc == nil {
			return nil, codedError(http.StatusNotFound, "Unknown allocation %q", t.allocID)
		}
		nodeID = alloc.NodeID
	}
	if nodeID == "" {
		return nil, codedError(http.StatusBadRequest, "This agent runs no client: name a node with node_id")
	}
	node, err := snap.NodeByID(nodeID)
	if err != nil {
		return nil, err
	}
	if node == nil {
		return nil, codedError(http.StatusNotFound, "Unknown node %q", nodeID)
	}
	if node.Status == structs.NodeStatusDown {
		return nil, codedError(http.StatusServiceUnavailable, "Node %q is down", nodeID)
	}
	if node.HTTPAddr == "" {
		return nil, codedError(http.StatusServiceUnavailable, "Node %q has no HTTP address", nodeID)
	}
	return node, nil
}

// proxyToNode sends r to the node's HTTP API, websockets (exec) included.
func (h *httpAPI) proxyToNode(w http.ResponseWriter, r *http.Request, node *api.Node) {
	h.proxyToAgent(w, r, node.HTTPAddr, fmt.Sprintf("Node %q", node.ID))
}

// proxyToAgent sends r to the agent whose HTTP API is at addr, marked as
// forwarded so that agent answers it itself; name says which agent in the
// error when it cannot be reached.
func (h *httpAPI) proxyToAgent(w http.ResponseWriter, r *http.Request, addr, name string) {
	scheme, transport := h.forwardTransport()
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: scheme, Host: addr})
	proxy.Transport = transport
	proxy.FlushInterval = -1 // monitor and log streams go out as they come
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		h.clientError(w, r, codedError(http.StatusBadGateway, "%s unreachable: %v", name, err))
	}
	out := r.Clone(r.Context())
	out.Header.Set(clientForwardedHeader, "1")
	proxy.ServeHTTP(w, out)
}

// clientError answers a failed client request, a websocket one with the
// close message Nomad's API client reports.
func (h *httpAPI) clientError(w http.ResponseWriter, r *http.Request, err error) {
	if websocket.IsWebSocketUpgrade(r) {
		fsapi.WebsocketError(w, r, err.Error())
		return
	}
	h.writeError(w, r, err)
}
