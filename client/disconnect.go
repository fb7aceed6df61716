package client

import (
	"log/slog"
	"sync"
	"time"
)

// lastContactStore persists the time of the client's last server contact.
type lastContactStore interface {
	PutLastContact(t time.Time) error
	LastContact() (time.Time, error)
}

// contactTracker remembers when the client last reached the servers (a
// registration or heartbeat that succeeded). It persists that time, so
// that a restarted client still counts the time it was away, and it tells
// when contact resumes after a gap the servers may have noticed.
type contactTracker struct {
	store  lastContactStore
	logger *slog.Logger

	mu   sync.Mutex
	last time.Time
	// ttl is the heartbeat TTL the servers granted at the last contact.
	ttl time.Duration
	// lost is set when a contact failed since the last success. It starts
	// set: what the servers believe of a client that just started is not
	// known.
	lost bool
}

// newContactTracker loads the persisted last contact. With none (a first
// start), or one in the future (the clock went back), the count starts now.
func newContactTracker(store lastContactStore, logger *slog.Logger, now time.Time) (*contactTracker, error) {
	last, err := store.LastContact()
	if err != nil {
		return nil, err
	}
	if last.IsZero() || last.After(now) {
		last = now
	}
	return &contactTracker{store: store, logger: logger, last: last, lost: true}, nil
}

// succeeded records a contact at now that granted ttl. It reports whether
// the contact ends a gap long enough for the servers to have marked the
// node disconnected or down: a failed contact, a first contact, or more
// than the previous TTL since the last one.
func (t *contactTracker) succeeded(now time.Time, ttl time.Duration) bool {
	t.mu.Lock()
	gap := t.lost || (t.ttl > 0 && now.Sub(t.last) > t.ttl)
	t.last, t.ttl, t.lost = now, ttl, false
	t.mu.Unlock()
	if err := t.store.PutLastContact(now); err != nil {
		t.logger.Warn("persist last server contact", "error", err)
	}
	return gap
}

// failed records a contact that did not get through.
func (t *contactTracker) failed() {
	t.mu.Lock()
	t.lost = true
	t.mu.Unlock()
}

// lastContact is the time of the last successful contact.
func (t *contactTracker) lastContact() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// contacted records a successful contact and, when it ends a gap the
// servers may have noticed, sends them the state of every allocation again
// so that they take the real state, not the one they inferred.
func (c *Client) contacted(ttl time.Duration) {
	if !c.contact.succeeded(time.Now(), ttl) {
		return
	}
	runners := c.runners()
	if len(runners) == 0 {
		return
	}
	for _, ar := range runners {
		c.updates.queue(ar.ClientUpdate())
	}
	c.updates.retryNow()
	c.logger.Info("in contact with the servers again; re-sending the state of all allocations", "count", len(runners))
}

// Heartbeat reports when the client last reached the servers and the
// heartbeat TTL they granted then, for `agent-info`.
func (c *Client) Heartbeat() (last time.Time, ttl time.Duration) {
	c.contact.mu.Lock()
	defer c.contact.mu.Unlock()
	return c.contact.last, c.contact.ttl
}
