package agent

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/paginate"
)

// page finishes a list handler: it applies the request's ?filter=,
// per_page, next_token and reverse to items (unless err is set) and
// writes the next page's token in X-Nomad-NextToken.
func page[T any](w http.ResponseWriter, r *http.Request, items []T, err error, key func(T) string) (any, error) {
	if err != nil {
		return nil, err
	}
	opts, err := paginate.FromQuery(r.URL.Query())
	if err != nil {
		return nil, listParamError(err)
	}
	out, next, err := paginate.Apply(items, key, opts)
	if err != nil {
		return nil, listParamError(err)
	}
	if next != "" {
		w.Header().Set("X-Nomad-NextToken", next)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// listParamError answers a bad list parameter with 400.
func listParamError(err error) error {
	if errors.Is(err, paginate.ErrInvalid) {
		return codedError(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), paginate.ErrInvalid.Error()+": "))
	}
	return err
}

// The tokens of the lists: what each is ordered by when paged.
func jobKey(j *api.JobListStub) string                     { return j.Namespace + "." + j.ID }
func allocKey(a *api.AllocationListStub) string            { return a.ID }
func evalKey(e *api.Evaluation) string                     { return e.ID }
func deploymentKey(d *api.Deployment) string               { return d.ID }
func nodeKey(n *api.NodeListStub) string                   { return n.ID }
func varKey(v *api.VariableMetadata) string                { return v.Namespace + "." + v.Path }
func namespaceKey(n *api.Namespace) string                 { return n.Name }
func policyKey(p *api.ACLPolicyListStub) string            { return p.Name }
func tokenKey(t *api.ACLTokenListStub) string              { return t.AccessorID }
func roleKey(r *api.ACLRoleListStub) string                { return r.ID }
func serviceKey(s *api.ServiceRegistrationListStub) string { return s.Namespace }
