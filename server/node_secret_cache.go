package server

import (
	"crypto/subtle"
	"sync"

	"github.com/roam-project/roam/state"
)

// maxVerifiedSecrets bounds the verified-secret cache: past it, the cache
// starts over (nodes that are gone leave their entries otherwise).
const maxVerifiedSecrets = 1 << 17

// verifiedSecrets remembers, per node, the last SecretID that matched the
// node's stored secret hash, so that a client's calls need neither a hash
// nor, while no node changed, a state lookup each time.
type verifiedSecrets struct {
	mu      sync.RWMutex
	entries map[string]verifiedSecret
}

// verifiedSecret is a SecretID that hashed to a node's stored hash, as
// the state store showed the node after nodeWrites node writes.
type verifiedSecret struct {
	store      *state.Store
	nodeWrites uint64
	hash       string
	secret     string
}

// current reports whether e still proves secret without a state lookup:
// it matched in this store, and no node was written since.
func (e verifiedSecret) current(store *state.Store, nodeWrites uint64, secret string) bool {
	return e.store == store && e.nodeWrites == nodeWrites && sameSecret(e.secret, secret)
}

// matches reports whether e proves secret for a node whose stored hash is
// hash: the same secret was checked against the same hash.
func (e verifiedSecret) matches(hash, secret string) bool {
	return e.hash == hash && sameSecret(e.secret, secret)
}

func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// lookup returns the node's entry, if any.
func (c *verifiedSecrets) lookup(nodeID string) (verifiedSecret, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[nodeID]
	return e, ok
}

// remember records the node's entry.
func (c *verifiedSecrets) remember(nodeID string, e verifiedSecret) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxVerifiedSecrets {
		c.entries = make(map[string]verifiedSecret)
	}
	c.entries[nodeID] = e
}

// forget drops the node's entry: the node is gone.
func (c *verifiedSecrets) forget(nodeID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, nodeID)
}
