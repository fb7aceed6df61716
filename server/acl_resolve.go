package server

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// Errors of token resolution and authorization; the HTTP layer answers
// them with 403.
var (
	ErrPermissionDenied = errors.New("Permission denied")
	ErrTokenNotFound    = errors.New("ACL token not found")
	ErrTokenExpired     = errors.New("ACL token expired")
	ErrTokenInvalid     = errors.New("ACL token is invalid")
)

// AnonymousToken is the token of requests that carry none.
var AnonymousToken = &api.ACLToken{
	AccessorID: "anonymous", Name: "Anonymous Token", Type: structs.ACLClientToken,
	Policies: []string{structs.AnonymousPolicy}, Global: false,
}

// ACLEnabled reports whether the server enforces ACLs.
func (s *Server) ACLEnabled() bool { return s.config.ACLEnabled }

// ResolveToken finds the token with secret (none: the anonymous token)
// and compiles its policies, directly and through its roles, into an ACL.
// With ACLs disabled every request may do everything. A missing or
// expired token is an error.
func (s *Server) ResolveToken(secret string) (*acl.ACL, *api.ACLToken, error) {
	if !s.config.ACLEnabled {
		return acl.ManagementACL, nil, nil
	}
	snap := s.State().Snapshot()
	if identity.LooksLike(secret) {
		return s.resolveIdentity(snap, secret)
	}
	token, err := lookupToken(snap, secret, time.Now())
	if err != nil {
		return nil, nil, err
	}
	a, err := s.aclCache.compile(snap, token)
	return a, token, err
}

// lookupToken finds a live token by its secret.
func lookupToken(snap *state.Snapshot, secret string, now time.Time) (*api.ACLToken, error) {
	if secret == "" {
		return AnonymousToken, nil
	}
	if len(secret) > 128 {
		return nil, ErrTokenInvalid
	}
	token, err := snap.ACLTokenBySecret(secret)
	if err != nil {
		return nil, err
	}
	if token == nil {
		return nil, ErrTokenNotFound
	}
	if token.ExpirationTime != nil && !token.ExpirationTime.After(now) {
		return nil, ErrTokenExpired
	}
	return token, nil
}

// tokenPolicies lists the policies a token holds, directly and through
// its roles; policies and roles that no longer exist are skipped.
func tokenPolicies(snap *state.Snapshot, token *api.ACLToken) ([]*api.ACLPolicy, error) {
	names := map[string]bool{}
	for _, p := range token.Policies {
		names[p] = true
	}
	for _, link := range token.Roles {
		role, err := snap.ACLRoleByID(link.ID)
		if err != nil {
			return nil, err
		}
		if role == nil {
			continue
		}
		for _, p := range role.Policies {
			names[p.Name] = true
		}
	}
	var out []*api.ACLPolicy
	for name := range names {
		p, err := snap.ACLPolicyByName(name)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// aclCache keeps each token's compiled ACL with the ACL tables' index it
// was compiled at, so that a request pays a few lookups, not a parse; any
// change to policies, roles or tokens recompiles on next use.
type aclCache struct {
	mu      sync.Mutex
	entries map[string]cachedACL
}

type cachedACL struct {
	acl   *acl.ACL
	index uint64
}

// maxCachedACLs bounds the cache; it starts afresh when full.
const maxCachedACLs = 4096

func (c *aclCache) compile(snap *state.Snapshot, token *api.ACLToken) (*acl.ACL, error) {
	if token.Type == structs.ACLManagementToken {
		return acl.ManagementACL, nil
	}
	index := snap.ACLIndex()
	if a, ok := c.get(token.AccessorID, index); ok {
		return a, nil
	}
	policies, err := tokenPolicies(snap, token)
	if err != nil {
		return nil, err
	}
	a, err := compilePolicies(policies)
	if err != nil {
		return nil, err
	}
	c.put(token.AccessorID, index, a)
	return a, nil
}

// get returns the ACL cached under key if it was compiled at index.
func (c *aclCache) get(key string, index uint64) (*acl.ACL, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.acl, ok && e.index == index
}

// put caches a, compiled at index, under key.
func (c *aclCache) put(key string, index uint64, a *acl.ACL) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedACLs {
		c.entries = map[string]cachedACL{}
	}
	c.entries[key] = cachedACL{acl: a, index: index}
}

// compilePolicies parses stored policies and merges them into one ACL.
func compilePolicies(policies []*api.ACLPolicy) (*acl.ACL, error) {
	parsed := make([]*acl.Policy, 0, len(policies))
	for _, p := range policies {
		pp, err := acl.Parse(p.Rules)
		if err != nil {
			// Stored policies were validated when written.
			return nil, err
		}
		parsed = append(parsed, pp)
	}
	return acl.Compile(parsed), nil
}

// authorize resolves secret and checks allowed against its ACL: the check
// RPC endpoints make on requests that may come from outside the cluster.
func (s *Server) authorize(secret string, allowed func(*acl.ACL) bool) error {
	a, _, err := s.ResolveToken(secret)
	if err != nil {
		return err
	}
	if !allowed(a) {
		return ErrPermissionDenied
	}
	return nil
}

// isManagement is the check of ACL administration endpoints.
func isManagement(a *acl.ACL) bool { return a.IsManagement() }
