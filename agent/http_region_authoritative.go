package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// authoritativeWrites are the writes of replicated state (ACL policies,
// roles, auth methods, binding rules, the bootstrap, namespaces, node
// pools) that a region which is not the
// authoritative one sends there, as Nomad does; it has them back by
// replication. Writes and deletions of global tokens go there too.
var authoritativeWrites = []string{"/v1/acl/bootstrap", "/v1/acl/policy/", "/v1/acl/role", "/v1/acl/auth-method",
	"/v1/acl/binding-rule", "/v1/namespace", "/v1/node/pool"}

// toAuthoritative sends a write of replicated state to the authoritative
// region, when this region is another; it reports whether it did (and so
// answered the request). A token write whose token is local is passed to
// next with its body, which it had to read.
func (h *httpAPI) toAuthoritative(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	auth := h.srv.AuthoritativeRegion()
	if h.isLocalRegion(auth) || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	for _, p := range authoritativeWrites {
		if strings.HasPrefix(r.URL.Path, p) {
			h.forwardRegion(w, r, auth, nil)
			return true
		}
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/acl/token/"); ok && r.Method == http.MethodDelete {
		if t, _ := h.srv.State().Snapshot().ACLTokenByAccessor(id); t != nil && t.Global {
			h.forwardRegion(w, r, auth, nil)
			return true
		}
		return false
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/acl/token") {
		return false
	}
	body, global, err := isGlobalTokenWrite(r)
	switch {
	case err != nil:
		h.writeError(w, r, err)
	case global:
		h.forwardRegion(w, r, auth, body)
	default:
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	}
	return true
}

// isGlobalTokenWrite reads a token write's body and reports whether it
// writes a global token.
func isGlobalTokenWrite(r *http.Request) ([]byte, bool, error) {
	replay, err := newReplayBody(r)
	if err != nil {
		return nil, false, err
	}
	if replay.stream != nil {
		return nil, false, codedError(http.StatusRequestEntityTooLarge, "Request body too large")
	}
	var token struct{ Global bool }
	_ = json.Unmarshal(replay.buf, &token)
	return replay.buf, token.Global, nil
}
