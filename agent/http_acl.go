package agent

import (
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// aclBootstrap serves /v1/acl/bootstrap, with an optional body naming the
// operator's BootstrapSecret.
func (h *httpAPI) aclBootstrap(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.BootstrapRequest
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, codedError(http.StatusBadRequest, "Failed to read request body: %v", err)
		}
		if strings.TrimSpace(string(body)) != "" {
			if err := decodeJSON(body, &req); err != nil {
				return nil, err
			}
		}
	}
	token, err := h.srv.BootstrapACL(&structs.ACLBootstrapArgs{BootstrapSecret: req.BootstrapSecret})
	if err != nil {
		return nil, err
	}
	setIndex(w, token.CreateIndex)
	return token, nil
}

// aclPolicies serves /v1/acl/policies: every policy for a management
// token, the token's own policies otherwise.
func (h *httpAPI) aclPolicies(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.ACLPolicyListStub{}
	err = h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
		policies, err := snap.ACLPolicies()
		if err != nil {
			return 0, err
		}
		held, err := h.heldPolicies(snap, r)
		if err != nil {
			return 0, err
		}
		out = out[:0]
		for _, p := range policies {
			if strings.HasPrefix(p.Name, opts.prefix) && (held == nil || held[p.Name]) {
				out = append(out, &api.ACLPolicyListStub{Name: p.Name, Description: p.Description,
					JobACL: p.JobACL, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex})
			}
		}
		return snap.ACLPoliciesIndex(), nil
	}))
	return page(w, r, out, err, policyKey)
}

// heldPolicies names the policies the caller holds, directly or through
// roles; nil means all (a management token, or ACLs off).
func (h *httpAPI) heldPolicies(snap *state.Snapshot, r *http.Request) (map[string]bool, error) {
	token := callerToken(r)
	if token == nil || token.Type == structs.ACLManagementToken {
		return nil, nil
	}
	held := map[string]bool{}
	for _, p := range token.Policies {
		held[p] = true
	}
	for _, link := range token.Roles {
		role, err := snap.ACLRoleByID(link.ID)
		if err != nil {
			return nil, err
		}
		if role != nil {
			for _, p := range role.Policies {
				held[p.Name] = true
			}
		}
	}
	return held, nil
}

// aclPolicySelf serves /v1/acl/policy/self: the policies the caller
// holds (for a workload identity, those attached to its job; for a
// management token, all).
func (h *httpAPI) aclPolicySelf(w http.ResponseWriter, r *http.Request) (any, error) {
	out := []*api.ACLPolicyListStub{}
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		policies, err := snap.ACLPolicies()
		if err != nil {
			return 0, err
		}
		held, err := h.heldPolicies(snap, r)
		if err != nil {
			return 0, err
		}
		out = out[:0]
		for _, p := range policies {
			if held == nil || held[p.Name] {
				out = append(out, &api.ACLPolicyListStub{Name: p.Name, Description: p.Description,
					JobACL: p.JobACL, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex})
			}
		}
		return snap.ACLPoliciesIndex(), nil
	})
	return out, err
}

// aclPolicy serves /v1/acl/policy/<name>: GET (management, or a token
// holding it), PUT/POST upsert, DELETE.
func (h *httpAPI) aclPolicy(w http.ResponseWriter, r *http.Request) (any, error) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/acl/policy/")
	if name == "" {
		return nil, codedError(http.StatusBadRequest, "Missing policy name")
	}
	if name == "self" && r.Method == http.MethodGet {
		return h.aclPolicySelf(w, r)
	}
	switch r.Method {
	case http.MethodGet:
		var policy *api.ACLPolicy
		var held map[string]bool
		err := h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
			var err error
			if policy, err = snap.ACLPolicyByName(name); err != nil {
				return 0, err
			}
			held, err = h.heldPolicies(snap, r)
			return snap.ACLPoliciesIndex(), err
		}))
		if err != nil {
			return nil, err
		}
		if held != nil && !held[name] {
			return nil, server.ErrPermissionDenied
		}
		if policy == nil {
			return nil, codedError(http.StatusNotFound, "ACL policy not found")
		}
		return policy, nil
	case http.MethodPut, http.MethodPost:
		var policy api.ACLPolicy
		if err := decodeBody(r, &policy); err != nil {
			return nil, err
		}
		if policy.Name != name {
			return nil, codedError(http.StatusBadRequest, "Policy name does not match request path")
		}
		index, err := h.srv.UpsertACLPolicies(&structs.ACLPolicyUpsertArgs{Policies: []*api.ACLPolicy{&policy}, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	case http.MethodDelete:
		index, err := h.srv.DeleteACLPolicies(&structs.ACLPolicyDeleteArgs{Names: []string{name}, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	}
	return nil, methodNotAllowed()
}

// aclTokens serves /v1/acl/tokens: token stubs, never secrets.
func (h *httpAPI) aclTokens(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.ACLTokenListStub{}
	err = h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
		tokens, err := snap.ACLTokens()
		out = out[:0]
		for _, t := range tokens {
			if strings.HasPrefix(t.AccessorID, opts.prefix) {
				out = append(out, &api.ACLTokenListStub{AccessorID: t.AccessorID, Name: t.Name, Type: t.Type,
					Policies: t.Policies, Roles: t.Roles, Global: t.Global, CreateTime: t.CreateTime,
					ExpirationTime: t.ExpirationTime, CreateIndex: t.CreateIndex, ModifyIndex: t.ModifyIndex})
			}
		}
		return snap.ACLTokensIndex(), err
	}))
	return page(w, r, out, err, tokenKey)
}

// aclTokenCreate serves PUT /v1/acl/token.
func (h *httpAPI) aclTokenCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var token api.ACLToken
	if err := decodeBody(r, &token); err != nil {
		return nil, err
	}
	if token.AccessorID != "" {
		return nil, codedError(http.StatusBadRequest, "Token cannot have an AccessorID when created")
	}
	return h.upsertToken(w, r, &token)
}

func (h *httpAPI) upsertToken(w http.ResponseWriter, r *http.Request, token *api.ACLToken) (any, error) {
	res, err := h.srv.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: token, WriteRequest: writeRequest(r)})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return res.Token, nil
}

// aclToken serves /v1/acl/token/<accessor> (GET, PUT/POST update,
// DELETE) and /v1/acl/token/self.
func (h *httpAPI) aclToken(w http.ResponseWriter, r *http.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/acl/token/")
	if id == "self" {
		if r.Method != http.MethodGet {
			return nil, methodNotAllowed()
		}
		token := callerToken(r)
		if token == nil || token.AccessorID == server.AnonymousToken.AccessorID {
			return nil, server.ErrTokenNotFound
		}
		h.setMeta(w, max(h.srv.State().Snapshot().ACLTokensIndex(), 1))
		return token, nil
	}
	if id == "" {
		return nil, codedError(http.StatusBadRequest, "Missing token accessor ID")
	}
	switch r.Method {
	case http.MethodGet:
		var token *api.ACLToken
		err := h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
			var err error
			token, err = snap.ACLTokenByAccessor(id)
			return snap.ACLTokensIndex(), err
		}))
		if err != nil {
			return nil, err
		}
		if token == nil {
			return nil, codedError(http.StatusNotFound, "ACL token not found")
		}
		return token, nil
	case http.MethodPut, http.MethodPost:
		var token api.ACLToken
		if err := decodeBody(r, &token); err != nil {
			return nil, err
		}
		if token.AccessorID == "" {
			token.AccessorID = id
		}
		if token.AccessorID != id {
			return nil, codedError(http.StatusBadRequest, "Token AccessorID does not match request path")
		}
		return h.upsertToken(w, r, &token)
	case http.MethodDelete:
		index, err := h.srv.DeleteACLTokens(&structs.ACLTokenDeleteArgs{AccessorIDs: []string{id}, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	}
	return nil, methodNotAllowed()
}

// aclRoles serves /v1/acl/roles: every role for a management token, the
// token's own roles otherwise.
func (h *httpAPI) aclRoles(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.ACLRoleListStub{}
	err = h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
		roles, err := snap.ACLRoles()
		out = out[:0]
		for _, role := range roles {
			if strings.HasPrefix(role.ID, opts.prefix) && holdsRole(r, role.ID) {
				out = append(out, &api.ACLRoleListStub{ID: role.ID, Name: role.Name, Description: role.Description,
					Policies: role.Policies, CreateIndex: role.CreateIndex, ModifyIndex: role.ModifyIndex})
			}
		}
		return snap.ACLRolesIndex(), err
	}))
	return page(w, r, out, err, roleKey)
}

// holdsRole reports whether the caller may see a role: management tokens
// see all, others their own.
func holdsRole(r *http.Request, id string) bool {
	token := callerToken(r)
	if token == nil || token.Type == structs.ACLManagementToken {
		return true
	}
	return slices.ContainsFunc(token.Roles, func(l *api.ACLTokenRoleLink) bool { return l.ID == id })
}

// aclRoleCreate serves PUT /v1/acl/role.
func (h *httpAPI) aclRoleCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var role api.ACLRole
	if err := decodeBody(r, &role); err != nil {
		return nil, err
	}
	if role.ID != "" {
		return nil, codedError(http.StatusBadRequest, "ACL role cannot have an ID when created")
	}
	return h.upsertRole(w, r, &role)
}

func (h *httpAPI) upsertRole(w http.ResponseWriter, r *http.Request, role *api.ACLRole) (any, error) {
	res, err := h.srv.UpsertACLRole(&structs.ACLRoleUpsertArgs{Role: role, WriteRequest: writeRequest(r)})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return res.Role, nil
}

// aclRole serves /v1/acl/role/<id> (GET, PUT/POST update, DELETE) and
// GET /v1/acl/role/name/<name>.
func (h *httpAPI) aclRole(w http.ResponseWriter, r *http.Request) (any, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/acl/role/")
	if name, ok := strings.CutPrefix(path, "name/"); ok {
		if r.Method != http.MethodGet {
			return nil, methodNotAllowed()
		}
		return h.readRole(w, r, func(snap *state.Snapshot) (*api.ACLRole, error) { return snap.ACLRoleByName(name) })
	}
	if path == "" {
		return nil, codedError(http.StatusBadRequest, "Missing ACL role ID")
	}
	switch r.Method {
	case http.MethodGet:
		return h.readRole(w, r, func(snap *state.Snapshot) (*api.ACLRole, error) { return snap.ACLRoleByID(path) })
	case http.MethodPut, http.MethodPost:
		var role api.ACLRole
		if err := decodeBody(r, &role); err != nil {
			return nil, err
		}
		if role.ID != path {
			return nil, codedError(http.StatusBadRequest, "ACL role ID does not match request path")
		}
		return h.upsertRole(w, r, &role)
	case http.MethodDelete:
		index, err := h.srv.DeleteACLRoles(&structs.ACLRoleDeleteArgs{IDs: []string{path}, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	}
	return nil, methodNotAllowed()
}

func (h *httpAPI) readRole(w http.ResponseWriter, r *http.Request, find func(*state.Snapshot) (*api.ACLRole, error)) (any, error) {
	var role *api.ACLRole
	err := h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
		var err error
		role, err = find(snap)
		return snap.ACLRolesIndex(), err
	}))
	if err != nil {
		return nil, err
	}
	if role == nil {
		if callerToken(r) != nil && callerToken(r).Type != structs.ACLManagementToken {
			return nil, server.ErrPermissionDenied
		}
		return nil, codedError(http.StatusNotFound, "ACL role not found")
	}
	if !holdsRole(r, role.ID) {
		return nil, server.ErrPermissionDenied
	}
	return role, nil
}

// writeRequest carries the request's token on to the server method, so
// that a write forwarded to the leader is checked there too.
func writeRequest(r *http.Request) structs.WriteRequest {
	return structs.WriteRequest{AuthToken: secretOf(r)}
}

// indexAtLeastOne floors a query's index at 1, as Nomad's ACL and
// variable endpoints do: their tables are empty until the first write,
// and a blocking query needs an index to wait past.
func indexAtLeastOne(query state.QueryFunc) state.QueryFunc {
	return func(snap *state.Snapshot) (uint64, error) {
		index, err := query(snap)
		return max(index, 1), err
	}
}
