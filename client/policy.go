package client

import (
	"context"
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// addressServers is what network policies need from the servers: a
// blocking query for the live allocations' addresses.
type addressServers interface {
	AllocAddresses(ctx context.Context, minIndex uint64, wait time.Duration) ([]*structs.AllocAddress, uint64, error)
}

// policyWait bounds one blocking query for addresses, so that allocations
// started here meanwhile get their policy within about this long.
const policyWait = 2 * time.Second

// enforcePolicies keeps the network policy (group meta roam.ingress_from)
// of every local bridge-mode allocation current: only allocations matching
// it may connect; the rest is dropped at this node.
func (c *Client) enforcePolicies(ctx context.Context) {
	as, ok := c.servers.(addressServers)
	if !ok {
		return
	}
	applied := map[string][]string{}
	var index uint64
	for ctx.Err() == nil {
		guarded := c.guardedAllocs()
		if len(guarded) == 0 {
			index = 0
			sleepCtx(ctx, policyWait)
			continue
		}
		addrs, next, err := as.AllocAddresses(ctx, index, policyWait)
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("watch allocation addresses", "error", err)
				sleepCtx(ctx, minRetry)
			}
			continue
		}
		index = next
		for id, g := range guarded {
			allowed := []string{}
			for _, src := range addrs {
				if src.AllocID != id && structs.Allows(g.rules, g.namespace, src) {
					allowed = append(allowed, src.Address)
				}
			}
			slices.Sort(allowed)
			if prev, ok := applied[id]; ok && slices.Equal(prev, allowed) {
				continue
			}
			if err := c.network.ApplyPolicy(id, allowed); err != nil {
				c.logger.Error("apply network policy", "alloc_id", id, "error", err)
				continue
			}
			applied[id] = allowed
			c.logger.Info("network policy applied", "alloc_id", id, "allowed_sources", len(allowed))
		}
		for id := range applied {
			if _, ok := guarded[id]; !ok {
				delete(applied, id)
			}
		}
	}
}

// guarded is a local allocation's network policy.
type guarded struct {
	namespace string
	rules     []structs.IngressRule
}

// guardedAllocs lists the local allocations with a network policy and a
// network to apply it to. A policy that does not parse admits no one.
func (c *Client) guardedAllocs() map[string]guarded {
	out := map[string]guarded{}
	for _, ar := range c.runners() {
		a := ar.Alloc()
		v, ok := groupMeta(a)[structs.IngressFromMeta]
		if !ok || c.network.Status(a.ID) == nil {
			continue
		}
		rules, err := structs.ParseIngressFrom(v)
		if err != nil {
			c.logger.Error("network policy admits no one", "alloc_id", a.ID, "error", err)
		}
		out[a.ID] = guarded{namespace: a.Namespace, rules: rules}
	}
	return out
}

// groupMeta is the job's meta overlaid by the allocation's group's.
func groupMeta(a *api.Allocation) map[string]string {
	out := map[string]string{}
	if a.Job == nil {
		return out
	}
	for k, v := range a.Job.Meta {
		out[k] = v
	}
	if g := a.Job.LookupTaskGroup(a.TaskGroup); g != nil {
		for k, v := range g.Meta {
			out[k] = v
		}
	}
	return out
}
