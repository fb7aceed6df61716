package server

import (
	"errors"
	"sort"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// errIdentityAllocGone is an identity whose allocation is gone or
// terminal.
var errIdentityAllocGone = errors.New("workload identity's allocation is not running")

// resolvedIdentity is what a valid workload identity stands for.
type resolvedIdentity struct {
	token    *api.ACLToken
	policies []*api.ACLPolicy
	grant    *structs.WorkloadGrant
}

// resolveIdentity resolves a workload identity to its ACL: the policies
// attached to its job, group or task, plus the implicit read of its own
// variables. A bad, expired or orphaned identity is ErrTokenExpired or
// ErrTokenInvalid (403), the reason logged.
func (s *Server) resolveIdentity(snap *state.Snapshot, secret string) (*acl.ACL, *api.ACLToken, error) {
	r, err := s.lookupIdentity(snap, secret)
	if err != nil {
		return nil, nil, err
	}
	key := "wi:" + r.grant.AllocID + "/" + r.grant.Task
	index := snap.ACLIndex()
	if a, ok := s.aclCache.get(key, index); ok {
		return a, r.token, nil
	}
	a, err := compilePolicies(r.policies)
	if err != nil {
		return nil, nil, err
	}
	a = a.WithWorkload(r.grant.Namespace, r.grant.Paths)
	s.aclCache.put(key, index, a)
	return a, r.token, nil
}

// lookupIdentity verifies a workload identity and finds what it holds.
func (s *Server) lookupIdentity(snap *state.Snapshot, secret string) (*resolvedIdentity, error) {
	claims, alloc, err := verifyIdentity(snap, secret, time.Now())
	if err != nil {
		s.logger.Debug("workload identity refused", "error", err)
		if errors.Is(err, identity.ErrExpired) {
			return nil, ErrTokenExpired
		}
		return nil, ErrTokenInvalid
	}
	policies, err := jobPolicies(snap, alloc.Namespace, alloc.JobID, alloc.TaskGroup, claims.Task)
	if err != nil {
		return nil, err
	}
	token := &api.ACLToken{Name: claims.Subject, Type: structs.ACLClientToken}
	for _, p := range policies {
		token.Policies = append(token.Policies, p.Name)
	}
	if claims.IssuedAt != nil {
		token.CreateTime = claims.IssuedAt.Time().UTC()
	}
	if claims.Expiry != nil {
		exp := claims.Expiry.Time().UTC()
		token.ExpirationTime = &exp
	}
	grant := &structs.WorkloadGrant{Namespace: alloc.Namespace, AllocID: alloc.ID, Task: claims.Task,
		Paths: acl.WorkloadPaths(alloc.JobID, alloc.TaskGroup, claims.Task)}
	return &resolvedIdentity{token: token, policies: policies, grant: grant}, nil
}

// jobPolicies lists the policies attached to a job as a whole, to the
// task's group, or to the task itself (`acl policy apply -job`).
func jobPolicies(snap *state.Snapshot, ns, job, group, task string) ([]*api.ACLPolicy, error) {
	all, err := snap.ACLPolicies()
	if err != nil {
		return nil, err
	}
	var out []*api.ACLPolicy
	for _, p := range all {
		j := p.JobACL
		if j == nil || j.Namespace != ns || j.JobID != job {
			continue
		}
		if (j.Group == "" || j.Group == group) && (j.Task == "" || (j.Group == group && j.Task == task)) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, nil
}

// validateJobACL checks a policy's attachment to a job, as Nomad does: a
// job (in a namespace) is required, and a task only within its group.
func validateJobACL(j *api.JobACL) error {
	switch {
	case j == nil:
		return nil
	case j.Namespace == "":
		return errors.New("a job ACL needs a namespace")
	case j.JobID == "":
		return errors.New("a job ACL needs a job ID")
	case j.Task != "" && j.Group == "":
		return errors.New("a job ACL with a task needs that task's group")
	}
	return nil
}
