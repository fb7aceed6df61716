package agent

import (
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// aclAuthMethods serves /v1/acl/auth-methods: every auth method's name,
// type and default flag, for anyone (a login page lists them).
func (h *httpAPI) aclAuthMethods(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	out := []*api.ACLAuthMethodListStub{}
	err := h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
		methods, err := snap.ACLAuthMethods()
		out = out[:0]
		for _, m := range methods {
			out = append(out, &api.ACLAuthMethodListStub{Name: m.Name, Type: m.Type, Default: m.Default,
				CreateIndex: m.CreateIndex, ModifyIndex: m.ModifyIndex})
		}
		return snap.ACLAuthMethodsIndex(), err
	}))
	return page(w, r, out, err, func(m *api.ACLAuthMethodListStub) string { return m.Name })
}

// aclAuthMethodCreate serves PUT /v1/acl/auth-method.
func (h *httpAPI) aclAuthMethodCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var m api.ACLAuthMethod
	if err := decodeBody(r, &m); err != nil {
		return nil, err
	}
	return h.upsertAuthMethod(w, r, &m, false)
}

func (h *httpAPI) upsertAuthMethod(w http.ResponseWriter, r *http.Request, m *api.ACLAuthMethod, update bool) (any, error) {
	res, err := h.srv.UpsertACLAuthMethod(&structs.ACLAuthMethodUpsertArgs{AuthMethod: m, Update: update, WriteRequest: writeRequest(r)})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return res.AuthMethod, nil
}

// aclAuthMethod serves /v1/acl/auth-method/<name>: GET, PUT/POST update,
// DELETE (with the method's binding rules).
func (h *httpAPI) aclAuthMethod(w http.ResponseWriter, r *http.Request) (any, error) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/acl/auth-method/")
	if name == "" {
		return nil, codedError(http.StatusBadRequest, "Missing ACL auth method name")
	}
	switch r.Method {
	case http.MethodGet:
		var m *api.ACLAuthMethod
		err := h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
			var err error
			m, err = snap.ACLAuthMethodByName(name)
			return snap.ACLAuthMethodsIndex(), err
		}))
		if err != nil {
			return nil, err
		}
		if m == nil {
			return nil, codedError(http.StatusNotFound, "ACL auth method not found")
		}
		return m, nil
	case http.MethodPut, http.MethodPost:
		var m api.ACLAuthMethod
		if err := decodeBody(r, &m); err != nil {
			return nil, err
		}
		if m.Name == "" {
			m.Name = name
		}
		if m.Name != name {
			return nil, codedError(http.StatusBadRequest, "ACL auth method name does not match request path")
		}
		return h.upsertAuthMethod(w, r, &m, true)
	case http.MethodDelete:
		index, err := h.srv.DeleteACLAuthMethods(&structs.ACLAuthMethodDeleteArgs{Names: []string{name}, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	}
	return nil, methodNotAllowed()
}

// aclBindingRules serves /v1/acl/binding-rules.
func (h *httpAPI) aclBindingRules(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.ACLBindingRuleListStub{}
	err = h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
		rules, err := snap.ACLBindingRules()
		out = out[:0]
		for _, b := range rules {
			if strings.HasPrefix(b.ID, opts.prefix) {
				out = append(out, &api.ACLBindingRuleListStub{ID: b.ID, Description: b.Description, AuthMethod: b.AuthMethod,
					CreateIndex: b.CreateIndex, ModifyIndex: b.ModifyIndex})
			}
		}
		return snap.ACLBindingRulesIndex(), err
	}))
	return page(w, r, out, err, func(b *api.ACLBindingRuleListStub) string { return b.ID })
}

// aclBindingRuleCreate serves PUT /v1/acl/binding-rule.
func (h *httpAPI) aclBindingRuleCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var b api.ACLBindingRule
	if err := decodeBody(r, &b); err != nil {
		return nil, err
	}
	if b.ID != "" {
		return nil, codedError(http.StatusBadRequest, "ACL binding rule cannot have an ID when created")
	}
	return h.upsertBindingRule(w, r, &b)
}

func (h *httpAPI) upsertBindingRule(w http.ResponseWriter, r *http.Request, b *api.ACLBindingRule) (any, error) {
	res, err := h.srv.UpsertACLBindingRule(&structs.ACLBindingRuleUpsertArgs{BindingRule: b, WriteRequest: writeRequest(r)})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return res.BindingRule, nil
}

// aclBindingRule serves /v1/acl/binding-rule/<id>: GET, PUT/POST update,
// DELETE.
func (h *httpAPI) aclBindingRule(w http.ResponseWriter, r *http.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/acl/binding-rule/")
	if id == "" {
		return nil, codedError(http.StatusBadRequest, "Missing ACL binding rule ID")
	}
	switch r.Method {
	case http.MethodGet:
		var b *api.ACLBindingRule
		err := h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
			var err error
			b, err = snap.ACLBindingRuleByID(id)
			return snap.ACLBindingRulesIndex(), err
		}))
		if err != nil {
			return nil, err
		}
		if b == nil {
			return nil, codedError(http.StatusNotFound, "ACL binding rule not found")
		}
		return b, nil
	case http.MethodPut, http.MethodPost:
		var b api.ACLBindingRule
		if err := decodeBody(r, &b); err != nil {
			return nil, err
		}
		if b.ID == "" {
			b.ID = id
		}
		if b.ID != id {
			return nil, codedError(http.StatusBadRequest, "ACL binding rule ID does not match request path")
		}
		return h.upsertBindingRule(w, r, &b)
	case http.MethodDelete:
		index, err := h.srv.DeleteACLBindingRules(&structs.ACLBindingRuleDeleteArgs{IDs: []string{id}, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	}
	return nil, methodNotAllowed()
}

// aclLogin answers the single sign-on login endpoints: Roam stores auth
// methods and binding rules but does not log users in through them.
func (h *httpAPI) aclLogin(w http.ResponseWriter, r *http.Request) (any, error) {
	return nil, codedError(http.StatusNotImplemented, "ACL login through auth methods (OIDC, JWT) is not supported by Roam")
}
