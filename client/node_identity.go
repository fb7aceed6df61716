package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/roam-project/roam/identity"
)

// identityServers sign the node's identity; with servers that lack it the
// node has none.
type identityServers interface {
	SignNodeIdentity(nodeID string) (string, error)
}

// identityRenewAt is the part of its lifetime after which a node identity
// is renewed, as in Nomad; identityCheckInterval is how often that is
// checked.
const (
	identityRenewAt       = 0.67
	identityCheckInterval = time.Minute
)

// ErrNoNodeIdentity answers for a node the servers gave no identity yet.
var ErrNoNodeIdentity = errors.New("node has no identity yet")

// nodeIdentity is the node's identity, as last signed by the servers.
type nodeIdentity struct {
	mu  sync.Mutex
	jwt string
	// renew asks for a new identity at the next check; ready is closed
	// once there is one; kick wakes the renewal loop.
	renew bool
	ready chan struct{}
	kick  chan struct{}
}

func newNodeIdentity(jwt string) *nodeIdentity {
	id := &nodeIdentity{jwt: jwt, ready: make(chan struct{}), kick: make(chan struct{}, 1)}
	if jwt != "" {
		close(id.ready)
	}
	return id
}

// due reports whether the identity should be signed again at now: there
// is none, a renewal was asked for, or it is past identityRenewAt of its
// lifetime.
func (id *nodeIdentity) due(now time.Time) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.jwt == "" || id.renew {
		return true
	}
	claims, err := identity.TokenClaims(id.jwt)
	if err != nil {
		return true
	}
	iat, okI := claims["iat"].(float64)
	exp, okE := claims["exp"].(float64)
	if !okI || !okE {
		return true
	}
	renewAt := iat + (exp-iat)*identityRenewAt
	return float64(now.Unix()) >= renewAt
}

func (id *nodeIdentity) set(jwt string) {
	id.mu.Lock()
	defer id.mu.Unlock()
	first := id.jwt == ""
	id.jwt, id.renew = jwt, false
	if first {
		close(id.ready)
	}
}

// NodeIdentityClaims returns the claims of the node's identity, waiting up
// to wait for the first one.
func (c *Client) NodeIdentityClaims(wait time.Duration) (map[string]any, error) {
	select {
	case <-c.identity.ready:
	case <-time.After(wait):
		return nil, ErrNoNodeIdentity
	}
	c.identity.mu.Lock()
	jwt := c.identity.jwt
	c.identity.mu.Unlock()
	return identity.TokenClaims(jwt)
}

// RenewNodeIdentity asks the servers for a new identity now, whatever the
// age of the current one.
func (c *Client) RenewNodeIdentity() {
	c.identity.mu.Lock()
	c.identity.renew = true
	c.identity.mu.Unlock()
	select {
	case c.identity.kick <- struct{}{}:
	default:
	}
}

// watchIdentity keeps the node's identity fresh: signed once the node is
// registered, renewed past identityRenewAt of its lifetime or on request,
// and persisted so that a restarted client keeps it.
func (c *Client) watchIdentity(ctx context.Context, is identityServers) {
	backoff := minRetry
	for {
		wait := identityCheckInterval
		if c.identity.due(time.Now()) {
			jwt, err := is.SignNodeIdentity(c.nodeID)
			if err == nil {
				err = c.db.PutNodeIdentity(jwt)
			}
			if err != nil {
				c.logger.Warn("node identity", "error", err, "retry_in", backoff)
				wait, backoff = backoff, min(backoff*2, identityCheckInterval)
			} else {
				c.identity.set(jwt)
				backoff = minRetry
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-c.identity.kick:
		case <-time.After(wait):
		}
	}
}
