package agent

import (
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
)

// namespacesList serves /v1/namespaces: the namespaces whose name has
// ?prefix.
func (h *httpAPI) namespacesList(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	allowed := callerACL(r)
	out := []*api.Namespace{}
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		all, err := snap.Namespaces(opts.prefix)
		out = out[:0]
		for _, ns := range all {
			if allowed.AllowNamespace(ns.Name) {
				out = append(out, ns)
			}
		}
		return snap.NamespacesIndex(), err
	})
	return page(w, r, out, err, namespaceKey)
}

// namespaceRequest serves /v1/namespace (PUT/POST: create or update the
// namespace the body names) and /v1/namespace/<name> (GET, PUT/POST,
// DELETE).
func (h *httpAPI) namespaceRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1/namespace"), "/")
	switch r.Method {
	case http.MethodGet:
		if name == "" {
			return nil, codedError(http.StatusBadRequest, "Missing namespace name")
		}
		return h.namespaceInfo(w, r, name)
	case http.MethodPut, http.MethodPost:
		return h.namespaceUpsert(w, r, name)
	case http.MethodDelete:
		if name == "" {
			return nil, codedError(http.StatusBadRequest, "Missing namespace name")
		}
		index, err := h.srv.DeleteNamespaces([]string{name})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	}
	return nil, methodNotAllowed()
}

func (h *httpAPI) namespaceInfo(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	var ns *api.Namespace
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		ns, err = snap.NamespaceByName(name)
		if err != nil || ns == nil {
			return snap.NamespacesIndex(), err
		}
		return ns.ModifyIndex, nil
	})
	if err != nil {
		return nil, err
	}
	if ns == nil {
		return nil, codedError(http.StatusNotFound, "namespace not found")
	}
	return ns, nil
}

// namespaceUpsert stores the namespace of the body; with a name in the
// path, the body must name the same one (or none).
func (h *httpAPI) namespaceUpsert(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	var ns api.Namespace
	if err := decodeBody(r, &ns); err != nil {
		return nil, err
	}
	if name != "" {
		if ns.Name == "" {
			ns.Name = name
		}
		if ns.Name != name {
			return nil, codedError(http.StatusBadRequest, "Namespace name does not match request path")
		}
	}
	index, err := h.srv.UpsertNamespaces([]*api.Namespace{&ns})
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}
