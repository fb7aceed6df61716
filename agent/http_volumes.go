package agent

import (
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// volumesList serves GET /v1/volumes?type=host: the dynamic host volumes
// of the request's namespace ("*": all) the caller may read, optionally of
// one ?node_id or ?node_pool. Roam has no CSI volumes: ?type=csi lists
// none.
func (h *httpAPI) volumesList(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	q := r.URL.Query()
	out := []*api.HostVolumeStub{}
	switch q.Get("type") {
	case "host":
	case "csi":
		return out, nil
	default:
		return nil, codedError(http.StatusBadRequest, `volume type is required: ?type=host (Roam has no CSI volumes)`)
	}
	ns, node, pool := namespaceOf(r), q.Get("node_id"), q.Get("node_pool")
	allowed := callerACL(r)
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		vols, err := snap.HostVolumes(ns)
		out = out[:0]
		for _, v := range vols {
			if (node != "" && v.NodeID != node) || (pool != "" && v.NodePool != pool) ||
				!allowed.AllowNamespaceOperation(v.Namespace, acl.NamespaceCapabilityHostVolumeRead) {
				continue
			}
			out = append(out, structs.HostVolumeStub(v))
		}
		return snap.HostVolumesIndex(), err
	})
	return out, err
}

// volumeRequest serves /v1/volume/host/create (PUT: create a dynamic host
// volume), GET /v1/volume/host/<id> (with the allocations on its node that
// mount it) and DELETE /v1/volume/host/<id>.
func (h *httpAPI) volumeRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/volume/host/")
	if !ok || rest == "" {
		return nil, codedError(http.StatusNotFound, "no such volume endpoint: Roam has host volumes only (/v1/volume/host/...)")
	}
	if rest == "create" {
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return nil, methodNotAllowed()
		}
		var req api.HostVolumeCreateRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		v, index, err := h.srv.CreateHostVolume(secretOf(r), req.Volume)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &api.HostVolumeCreateResponse{Volume: v}, nil
	}
	switch r.Method {
	case http.MethodGet:
		return h.volumeInfo(w, r, rest)
	case http.MethodDelete:
		index, err := h.srv.DeleteHostVolume(secretOf(r), namespaceOf(r), rest)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &api.HostVolumeDeleteResponse{}, nil
	}
	return nil, methodNotAllowed()
}

func (h *httpAPI) volumeInfo(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	var out *api.HostVolume
	ns := namespaceOf(r)
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		v, err := snap.HostVolumeByID(id)
		if err != nil || v == nil || (ns != "*" && v.Namespace != ns) {
			out = nil
			return snap.HostVolumesIndex(), err
		}
		c := *v
		allocs, err := snap.AllocsByNode(v.NodeID)
		var shown []*api.Allocation
		for _, a := range allocs {
			if !structs.AllocTerminal(a) && a.Namespace == v.Namespace && structs.MountsHostVolume(a, v.Name) {
				shown = append(shown, a)
			}
		}
		if err == nil {
			// The stubs show the tasks' events.
			shown, err = snap.WithTaskEvents(shown)
		}
		for _, a := range shown {
			c.Allocations = append(c.Allocations, structs.AllocStub(a))
		}
		out = &c
		return max(v.ModifyIndex, snap.HostVolumesIndex()), err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, codedError(http.StatusNotFound, "volume not found")
	}
	return out, nil
}

// volumeRule: reading a host volume needs host-volume-read, creating one
// host-volume-create, deleting one host-volume-delete, in the request's
// namespace (the body's for a create).
func volumeRule(r *http.Request, a *acl.ACL) bool {
	ns := namespaceOf(r)
	switch {
	case r.Method == http.MethodGet:
		return a.AllowNamespaceOperation(ns, acl.NamespaceCapabilityHostVolumeRead)
	case r.Method == http.MethodDelete:
		return a.AllowNamespaceOperation(ns, acl.NamespaceCapabilityHostVolumeDelete)
	}
	// The server checks the body's namespace again.
	return a.AllowNamespaceOperation("*", acl.NamespaceCapabilityHostVolumeCreate)
}
