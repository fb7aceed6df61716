package agent

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// nodesList serves /v1/nodes.
func (h *httpAPI) nodesList(w http.ResponseWriter, r *http.Request) (any, error) {
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	withResources, _ := strconv.ParseBool(r.URL.Query().Get("resources"))
	// ?os=true adds the operating system's name, which `node status -os` prints.
	withOS, _ := strconv.ParseBool(r.URL.Query().Get("os"))
	out := []*api.NodeListStub{}
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		nodes, err := snap.NodesByPrefix(opts.prefix)
		out = out[:0]
		for _, n := range nodes {
			stub := structs.NodeStub(n, withResources)
			if withOS && stub.Attributes == nil {
				stub.Attributes = map[string]string{"os.name": n.Attributes["os.name"]}
			}
			out = append(out, stub)
		}
		return snap.Index("nodes"), err
	})
	return page(w, r, out, err, nodeKey)
}

// nodeRequest serves /v1/node/<id> and its sub-resources.
func (h *httpAPI) nodeRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/node/")
	if id, ok := strings.CutSuffix(path, "/allocations"); ok {
		out := []*api.Allocation{}
		allowed := callerACL(r)
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			allocs, err := snap.AllocsByNode(id)
			if err != nil {
				return 0, err
			}
			out = out[:0]
			for _, a := range allocs {
				if allowed.AllowNamespaceOperation(a.Namespace, acl.NamespaceCapabilityReadJob) {
					out = append(out, a)
				}
			}
			// Nomad lists a node's allocations in full.
			out, err = snap.WithMetrics(out)
			return snap.Index("allocs"), err
		})
		return out, err
	}
	if id, ok := strings.CutSuffix(path, "/eligibility"); ok {
		var req api.NodeUpdateEligibilityRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		index, err := h.srv.UpdateEligibility(secretOf(r), id, req.Eligibility)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &api.NodeEligibilityUpdateResponse{NodeModifyIndex: index}, nil
	}
	if id, ok := strings.CutSuffix(path, "/drain"); ok {
		var req api.NodeUpdateDrainRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		var strategy *api.DrainStrategy
		if req.DrainSpec != nil {
			strategy = &api.DrainStrategy{DrainSpec: *req.DrainSpec}
			if req.DrainSpec.Deadline > 0 {
				strategy.ForceDeadline = time.Now().Add(req.DrainSpec.Deadline)
			}
		}
		index, err := h.srv.UpdateDrain(secretOf(r), id, strategy, req.MarkEligible, req.Meta)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &api.NodeDrainUpdateResponse{NodeModifyIndex: index}, nil
	}
	for _, op := range []struct {
		suffix string
		run    func(token, nodeID string) ([]string, uint64, error)
	}{{"/evaluate", h.srv.EvaluateNode}, {"/purge", h.srv.PurgeNode}} {
		id, ok := strings.CutSuffix(path, op.suffix)
		if !ok {
			continue
		}
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return nil, methodNotAllowed()
		}
		evals, index, err := op.run(secretOf(r), id)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		resp := &api.NodePurgeResponse{EvalIDs: evals, NodeModifyIndex: index}
		if len(evals) > 0 {
			resp.EvalCreateIndex = index
		}
		return resp, nil
	}
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	var node *api.Node
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		node, err = snap.NodeByID(path)
		if err != nil || node == nil {
			return snap.Index("nodes"), err
		}
		return node.ModifyIndex, nil
	})
	if err != nil {
		return nil, err
	}
	if node == nil {
		return nil, codedError(http.StatusNotFound, "node not found")
	}
	// Nomad's node carries its SecretID, blanked for the API.
	return struct {
		*api.Node
		SecretID string
	}{node, ""}, nil
}
