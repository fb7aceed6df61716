package agent

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
)

// route is one registration of the HTTP API: its pattern, what a request
// needs from the caller's ACL, and its handler. Every route states its
// requirement; TestRouteACLs walks the route list, so a route added
// without a tested requirement fails it.
type route struct {
	pattern string
	allow   authorizer
	handler http.HandlerFunc
	// toLeader sends the request to the leader, whose check then applies.
	toLeader bool
}

// authorizer reports whether the caller's ACL permits a request. It looks
// at the method, path and query (and the object a by-ID path names);
// handlers of lists drop the objects the ACL may not see. A nil
// authorizer (public) admits everyone.
type authorizer func(r *http.Request, a *acl.ACL) bool

// public is the requirement of endpoints anyone may call, with any token
// or none (health, leader, ACL bootstrap, the UI's files): their token is
// not even resolved.
var public authorizer

// management requires a management token.
func management(_ *http.Request, a *acl.ACL) bool { return a.IsManagement() }

// nsCap requires cap in the request's namespace (?namespace, else
// "default"; "*" means in some namespace).
func nsCap(cap string) authorizer {
	return func(r *http.Request, a *acl.ACL) bool {
		return a.AllowNamespaceOperation(namespaceOf(r), cap)
	}
}

// nsAnyCap requires one of caps in the request's namespace.
func nsAnyCap(caps ...string) authorizer {
	return func(r *http.Request, a *acl.ACL) bool {
		ns := namespaceOf(r)
		for _, c := range caps {
			if a.AllowNamespaceOperation(ns, c) {
				return true
			}
		}
		return false
	}
}

// reads splits a requirement between GET and the writing methods.
func reads(get, write authorizer) authorizer {
	return func(r *http.Request, a *acl.ACL) bool {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return get(r, a)
		}
		return write(r, a)
	}
}

// The coarse requirements. operatorRead and operatorWrite are for the
// operator routes Nomad guards with the operator rule (autopilot, scheduler
// configuration); raft and snapshots need management.
func nodeRead(_ *http.Request, a *acl.ACL) bool      { return a.AllowNodeRead() }
func nodeWrite(_ *http.Request, a *acl.ACL) bool     { return a.AllowNodeWrite() }
func agentRead(_ *http.Request, a *acl.ACL) bool     { return a.AllowAgentRead() }
func agentWrite(_ *http.Request, a *acl.ACL) bool    { return a.AllowAgentWrite() }
func operatorRead(_ *http.Request, a *acl.ACL) bool  { return a.AllowOperatorRead() }
func operatorWrite(_ *http.Request, a *acl.ACL) bool { return a.AllowOperatorWrite() }

// serviceRead requires reading service registrations of the request's
// namespace: read-job, or a workload identity of that namespace.
func serviceRead(r *http.Request, a *acl.ACL) bool { return a.AllowServiceRead(namespaceOf(r)) }

// anyToken admits any valid token (the anonymous one included) but no
// unknown or expired one; the handler decides what it may see.
func anyToken(*http.Request, *acl.ACL) bool { return true }

// jobRule is the requirement of /v1/job/<id>[/<sub>], as Nomad's API
// lists them.
func jobRule(r *http.Request, a *acl.ACL) bool {
	path := strings.TrimPrefix(r.URL.Path, "/v1/job/")
	sub := ""
	for _, s := range jobSubResources {
		if strings.HasSuffix(path, "/"+s) {
			sub = s
			break
		}
	}
	ns := namespaceOf(r)
	allow := func(cap string) bool { return a.AllowNamespaceOperation(ns, cap) }
	if r.Method == http.MethodGet {
		if sub == "scale" {
			return allow(acl.NamespaceCapabilityReadJobScaling) || allow(acl.NamespaceCapabilityReadJob)
		}
		return allow(acl.NamespaceCapabilityReadJob)
	}
	switch sub {
	case "dispatch":
		return allow(acl.NamespaceCapabilityDispatchJob)
	case "scale":
		return allow(acl.NamespaceCapabilityScaleJob) || allow(acl.NamespaceCapabilitySubmitJob)
	}
	return allow(acl.NamespaceCapabilitySubmitJob)
}

// nodeRule: reading nodes needs node read, changing them (drain,
// eligibility, purge) node write.
func nodeRule(r *http.Request, a *acl.ACL) bool {
	if r.Method == http.MethodGet {
		return a.AllowNodeRead()
	}
	return a.AllowNodeWrite()
}

// varRule: /v1/var/<path> needs read (GET), write (PUT) or destroy
// (DELETE) on the path in the request's namespace.
func varRule(r *http.Request, a *acl.ACL) bool {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1/var/"), " /")
	op := acl.VariablesCapabilityWrite
	switch r.Method {
	case http.MethodGet:
		op = acl.VariablesCapabilityRead
	case http.MethodDelete:
		op = acl.VariablesCapabilityDestroy
	}
	return a.AllowVariableOperation(namespaceOf(r), path, op)
}

// namespaceRule: reading /v1/namespace/<name> needs some capability in
// that namespace; creating, changing and deleting one needs management.
func namespaceRule(r *http.Request, a *acl.ACL) bool {
	if r.Method == http.MethodGet {
		return a.AllowNamespace(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1/namespace/"), "/"))
	}
	return a.IsManagement()
}

// aclTokenRule: /v1/acl/token/self is for any token; other tokens are
// for management only.
func aclTokenRule(r *http.Request, a *acl.ACL) bool {
	if r.URL.Path == "/v1/acl/token/self" && r.Method == http.MethodGet {
		return true
	}
	return a.IsManagement()
}

// objectNamespace finds the namespace of the object a by-ID path names,
// so that a check is made against where the object lives, not where the
// request says it does; "" when there is no such object.
type objectNamespace func(snap *state.Snapshot, r *http.Request) string

// inObjectNamespace requires cap in the namespace of the object the path
// names (the request's namespace when none is found: the handler answers
// 404 then).
func (h *httpAPI) inObjectNamespace(find objectNamespace, cap func(r *http.Request) string) authorizer {
	return func(r *http.Request, a *acl.ACL) bool {
		ns := ""
		if h.srv != nil {
			ns = find(h.srv.State().Snapshot(), r)
		}
		if ns == "" {
			ns = namespaceOf(r)
		}
		return a.AllowNamespaceOperation(ns, cap(r))
	}
}

func constCap(c string) func(*http.Request) string { return func(*http.Request) string { return c } }

// allocNamespace finds /v1/allocation/<id>[/stop]'s allocation.
func allocNamespace(snap *state.Snapshot, r *http.Request) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/allocation/"), "/")
	a, err := snap.AllocByID(id)
	if err != nil || a == nil {
		return ""
	}
	return a.Namespace
}

// evalNamespace finds /v1/evaluation/<id>[/allocations]'s evaluation.
func evalNamespace(snap *state.Snapshot, r *http.Request) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/evaluation/"), "/")
	e, err := snap.EvalByID(id)
	if err != nil || e == nil {
		return ""
	}
	return e.Namespace
}

// deploymentNamespace finds /v1/deployment/[<action>/]<id>'s deployment.
func deploymentNamespace(snap *state.Snapshot, r *http.Request) string {
	path := strings.TrimPrefix(r.URL.Path, "/v1/deployment/")
	id := path[strings.LastIndex(path, "/")+1:]
	d, err := snap.DeploymentByID(id)
	if err != nil || d == nil {
		return ""
	}
	return d.Namespace
}

// deploymentCap: reading a deployment needs read-job, acting on it
// (promote, fail, pause, allocation-health) submit-job.
func deploymentCap(r *http.Request) string {
	path := strings.TrimPrefix(r.URL.Path, "/v1/deployment/")
	action, _, ok := strings.Cut(path, "/")
	if !ok || action == "allocations" {
		return acl.NamespaceCapabilityReadJob
	}
	return acl.NamespaceCapabilitySubmitJob
}

// allocCap: reading an allocation needs read-job, stopping it
// alloc-lifecycle.
func allocCap(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/stop") {
		return acl.NamespaceCapabilityAllocLifecycle
	}
	return acl.NamespaceCapabilityReadJob
}

// clientRule is the requirement of the client's /v1/client/... endpoints:
// the allocation's namespace must grant read-fs, read-logs, alloc-exec,
// alloc-lifecycle or read-job; host stats need node read, GC node write,
// node metadata and identity node read to read and node write to change.
func (h *httpAPI) clientRule(r *http.Request, a *acl.ACL) bool {
	path := strings.TrimPrefix(r.URL.Path, "/v1/client/")
	switch path {
	case "stats":
		return a.AllowNodeRead()
	case "gc":
		return a.AllowNodeWrite()
	case "metadata", "identity":
		return reads(nodeRead, nodeWrite)(r, a)
	case "identity/renew":
		return a.AllowNodeWrite()
	}
	var cap, allocID string
	switch {
	case strings.HasPrefix(path, "fs/logs/"):
		cap, allocID = acl.NamespaceCapabilityReadLogs, strings.TrimPrefix(path, "fs/logs/")
	case strings.HasPrefix(path, "fs/"):
		rest := strings.TrimPrefix(path, "fs/")
		_, allocID, _ = strings.Cut(rest, "/")
		cap = acl.NamespaceCapabilityReadFS
	case strings.HasPrefix(path, "allocation/"):
		var sub string
		allocID, sub, _ = strings.Cut(strings.TrimPrefix(path, "allocation/"), "/")
		switch sub {
		case "exec":
			cap = acl.NamespaceCapabilityAllocExec
		case "restart", "signal":
			cap = acl.NamespaceCapabilityAllocLifecycle
		case "gc":
			cap = acl.NamespaceCapabilitySubmitJob
		default:
			cap = acl.NamespaceCapabilityReadJob
		}
	default:
		return a.IsManagement()
	}
	ns := namespaceOf(r)
	if h.agent != nil && h.agent.client != nil {
		if ar, err := h.agent.client.AllocRunner(allocID); err == nil {
			ns = ar.Alloc().Namespace
		}
	}
	if h.srv != nil {
		if alloc, err := h.srv.State().Snapshot().AllocByID(allocID); err == nil && alloc != nil {
			ns = alloc.Namespace
		}
	}
	return a.AllowNamespaceOperation(ns, cap)
}

// aclKey carries the caller's ACL and token in a request's context.
type aclKey struct{}

type caller struct {
	acl   *acl.ACL
	token *api.ACLToken
}

// callerACL is the ACL a request was authorized with; everything when
// ACLs are off.
func callerACL(r *http.Request) *acl.ACL {
	if c, ok := r.Context().Value(aclKey{}).(*caller); ok {
		return c.acl
	}
	return acl.ManagementACL
}

// callerToken is the token a request came with (nil when ACLs are off).
func callerToken(r *http.Request) *api.ACLToken {
	if c, ok := r.Context().Value(aclKey{}).(*caller); ok {
		return c.token
	}
	return nil
}

// secretOf reads a request's token: X-Nomad-Token, else an
// "Authorization: Bearer" header.
func secretOf(r *http.Request) string {
	if t := r.Header.Get("X-Nomad-Token"); t != "" {
		return t
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(auth)
	}
	return ""
}

// tokenResolver turns a token secret into its ACL; servers resolve from
// their state, client-only agents through the servers.
type tokenResolver interface {
	ResolveToken(secret string) (*acl.ACL, *api.ACLToken, error)
}

// authorize resolves the request's token and checks allow before next
// runs; a request it refuses answers 403 and reaches no handler.
func (h *httpAPI) authorize(allow authorizer, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.resolver == nil || allow == nil {
			next(w, r)
			return
		}
		a, token, err := h.resolver.ResolveToken(secretOf(r))
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if !allow(r, a) {
			h.writeError(w, r, server.ErrPermissionDenied)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), aclKey{}, &caller{acl: a, token: token})))
	}
}

// isACLError reports the errors that answer 403.
func isACLError(err error) bool {
	for _, e := range []error{server.ErrPermissionDenied, server.ErrTokenNotFound, server.ErrTokenExpired, server.ErrTokenInvalid} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// resolver is how the agent resolves tokens: nil with ACLs off, the
// server's state on a server, the servers over RPC on a client-only agent.
func (a *Agent) resolver() tokenResolver {
	switch {
	case !a.config.ACL.Enabled:
		return nil
	case a.server != nil:
		return a.server
	case a.remote != nil:
		return newRemoteResolver(a.remote, a.config.ACL)
	}
	return nil
}
