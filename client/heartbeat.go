package client

import (
	"context"
	"time"

	"github.com/roam-project/roam/structs"
)

// Retry backoff when the servers cannot be reached.
const (
	minRetry = 500 * time.Millisecond
	maxRetry = 15 * time.Second
)

// register registers the node as ready, retrying until it succeeds or ctx
// is done, and returns the heartbeat TTL.
func (c *Client) register(ctx context.Context) (time.Duration, error) {
	backoff := minRetry
	for {
		node := c.Node()
		node.Status = structs.NodeStatusReady
		node.StatusUpdatedAt = time.Now().Unix()
		ttl, err := c.servers.RegisterNode(node)
		if err == nil {
			// Only the status is the registration's own: what changed on
			// the node meanwhile (metadata, drivers) stays, for the next.
			c.mu.Lock()
			c.node.Status, c.node.StatusUpdatedAt = node.Status, node.StatusUpdatedAt
			c.mu.Unlock()
			c.logger.Info("node registered", "node_id", node.ID, "heartbeat_ttl", ttl)
			c.contacted(ttl)
			return ttl, nil
		}
		c.contact.failed()
		c.logger.Error("register node", "error", err, "retry_in", backoff)
		if !sleepCtx(ctx, backoff) {
			return 0, ctx.Err()
		}
		backoff = min(backoff*2, maxRetry)
	}
}

// heartbeat keeps the node alive, re-registering when a heartbeat fails
// (the servers may have lost or expired the node). Each success counts as
// server contact.
func (c *Client) heartbeat(ctx context.Context, ttl time.Duration) {
	for {
		if !sleepCtx(ctx, heartbeatInterval(ttl)) {
			return
		}
		next, err := c.servers.Heartbeat(c.nodeID)
		if err == nil {
			c.contacted(next)
			ttl = next
			continue
		}
		c.contact.failed()
		c.logger.Warn("heartbeat failed; registering again", "error", err)
		if next, err = c.register(ctx); err != nil {
			return
		}
		ttl = next
	}
}

// heartbeatInterval beats at half the TTL, so one lost beat is survivable.
func heartbeatInterval(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return time.Second
	}
	return max(ttl/2, 10*time.Millisecond)
}

// sleepCtx waits d and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
