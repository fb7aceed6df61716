package client

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocrunner"
	"github.com/roam-project/roam/structs"
)

// allocWait is how long one blocking query for allocations may wait.
const allocWait = 5 * time.Minute

// destroyTimeout bounds how long removing a garbage-collected alloc waits
// for its tasks to stop.
const destroyTimeout = 5 * time.Minute

// watchAllocations long-polls the node's allocations and reconciles the
// alloc runners with them until ctx is done.
func (c *Client) watchAllocations(ctx context.Context) {
	var index uint64
	backoff := minRetry
	for ctx.Err() == nil {
		allocs, next, err := c.servers.NodeAllocations(ctx, c.nodeID, index, allocWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.logger.Error("watch allocations", "error", err, "retry_in", backoff)
			sleepCtx(ctx, backoff)
			backoff = min(backoff*2, maxRetry)
			continue
		}
		backoff = minRetry
		if next < index {
			index = 0 // the servers' index went backwards: start over
		} else {
			index = next
		}
		c.reconcile(allocs)
	}
}

// reconcile starts runners for new allocations, updates changed ones,
// corrects the servers' guess of those they list as "unknown" and destroys
// those the servers no longer list.
func (c *Client) reconcile(allocs []*api.Allocation) {
	defer c.stopper.allocsChanged()
	seen := make(map[string]bool, len(allocs))
	for _, a := range allocs {
		seen[a.ID] = true
		ar, err := c.AllocRunner(a.ID)
		if err != nil {
			if !serverTerminal(a) {
				c.startAlloc(a, nil)
			}
			continue
		}
		if changed(ar.Alloc(), a) {
			ar.Update(a)
		}
		c.reportIfUnknown(ar, a)
	}
	for id := range c.unknown {
		if !seen[id] {
			delete(c.unknown, id)
		}
	}
	c.mu.Lock()
	var gone []*allocrunner.AllocRunner
	for id, ar := range c.allocs {
		if !seen[id] {
			gone = append(gone, ar)
			delete(c.allocs, id)
		}
	}
	c.mu.Unlock()
	for _, ar := range gone {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), destroyTimeout)
			defer cancel()
			if err := ar.Destroy(ctx); err != nil {
				c.logger.Error("destroy alloc", "alloc_id", ar.ID(), "error", err)
			}
		}()
	}
}

// reportIfUnknown sends the allocation's real state when the servers
// start listing it as "unknown" (they took the node for disconnected while
// it kept running it), once each time they do.
func (c *Client) reportIfUnknown(ar *allocrunner.AllocRunner, a *api.Allocation) {
	if a.ClientStatus != structs.AllocClientStatusUnknown {
		delete(c.unknown, a.ID)
		return
	}
	if c.unknown[a.ID] {
		return
	}
	c.unknown[a.ID] = true
	c.logger.Info("servers list the allocation as unknown; sending its state", "alloc_id", a.ID)
	c.updates.queue(ar.ClientUpdate())
}

// serverTerminal reports whether an allocation we do not run needs no runner.
func serverTerminal(a *api.Allocation) bool {
	if a.DesiredStatus != "" && a.DesiredStatus != structs.AllocDesiredStatusRun {
		return true
	}
	switch a.ClientStatus {
	case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
		return true
	}
	return false
}

// changed reports whether the servers changed an allocation in a way the
// runner must see.
func changed(old, cur *api.Allocation) bool {
	return cur.AllocModifyIndex > old.AllocModifyIndex ||
		cur.DesiredStatus != old.DesiredStatus ||
		cur.DeploymentID != old.DeploymentID ||
		(cur.DeploymentStatus == nil) != (old.DeploymentStatus == nil)
}
