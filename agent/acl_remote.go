package agent

import (
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/client/rpcservers"
	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/structs"
)

// remoteResolver resolves tokens on a client-only agent through the
// servers, caching each answer (the token with its policies and roles)
// for the shortest of the acl block's token_ttl, policy_ttl and role_ttl.
type remoteResolver struct {
	servers *rpcservers.Set
	ttl     time.Duration

	mu      sync.Mutex
	entries map[string]resolved
}

type resolved struct {
	acl     *acl.ACL
	token   *api.ACLToken
	expires time.Time
}

// defaultTokenTTL is Nomad's token_ttl (and policy_ttl, role_ttl) default.
const defaultTokenTTL = 30 * time.Second

func newRemoteResolver(servers *rpcservers.Set, cfg ACLConfig) *remoteResolver {
	ttl := defaultTokenTTL
	for _, d := range []time.Duration{cfg.TokenTTL, cfg.PolicyTTL, cfg.RoleTTL} {
		if d > 0 && d < ttl {
			ttl = d
		}
	}
	return &remoteResolver{servers: servers, ttl: ttl, entries: map[string]resolved{}}
}

// ResolveToken implements tokenResolver.
func (c *remoteResolver) ResolveToken(secret string) (*acl.ACL, *api.ACLToken, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[secret]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && (e.token.ExpirationTime == nil || e.token.ExpirationTime.After(now)) {
		return e.acl, e.token, nil
	}
	reply, err := c.servers.ResolveToken(secret)
	if err != nil {
		return nil, nil, remoteACLError(err)
	}
	a := acl.ManagementACL
	if reply.Token.Type != structs.ACLManagementToken {
		var policies []*acl.Policy
		for _, p := range reply.Policies {
			parsed, err := acl.Parse(p.Rules)
			if err != nil {
				return nil, nil, err
			}
			policies = append(policies, parsed)
		}
		a = acl.Compile(policies)
		if w := reply.Workload; w != nil {
			a = a.WithWorkload(w.Namespace, w.Paths)
		}
	}
	c.mu.Lock()
	if len(c.entries) >= 1024 {
		c.entries = map[string]resolved{}
	}
	c.entries[secret] = resolved{acl: a, token: reply.Token, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return a, reply.Token, nil
}

// remoteACLError restores the token errors a server sent as text.
func remoteACLError(err error) error {
	var remote *rpc.RemoteError
	if errors.As(err, &remote) {
		for _, known := range []error{server.ErrTokenNotFound, server.ErrTokenExpired, server.ErrTokenInvalid, server.ErrPermissionDenied} {
			if remote.Msg == known.Error() {
				return known
			}
		}
	}
	return err
}
