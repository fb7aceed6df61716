package server

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// Replication: the servers of the authoritative region (the
// authoritative_region setting) own ACL policies, roles, global tokens,
// auth methods and binding rules, namespaces and node pools; the leader of every other region pulls them with blocking
// queries (Replication.Fetch) and applies the difference through its own
// Raft, so that each region resolves tokens and namespaces by itself,
// even while the authoritative region is away.

// replicationWait is how long one Replication.Fetch blocks.
const replicationWait = 5 * time.Minute

// replicationEndpoint serves "Replication.*" to servers of other regions.
type replicationEndpoint struct{ s *Server }

// Fetch answers the replicated state once it changed past args.MinIndex.
func (e *replicationEndpoint) Fetch(args *structs.ReplicationFetchArgs, reply *structs.ReplicationFetchReply) error {
	wait := min(args.Wait, replicationWait)
	_, err := e.s.State().BlockingQuery(e.s.shutdownCtx, args.MinIndex, wait, func(snap *state.Snapshot) (uint64, error) {
		var err error
		*reply = structs.ReplicationFetchReply{Index: max(snap.ACLIndex(), snap.ACLAuthMethodsIndex(), snap.ACLBindingRulesIndex(),
			snap.NamespacesIndex(), snap.NodePoolsIndex())}
		if reply.Policies, err = snap.ACLPolicies(); err != nil {
			return 0, err
		}
		if reply.Roles, err = snap.ACLRoles(); err != nil {
			return 0, err
		}
		tokens, err := snap.ACLTokens()
		if err != nil {
			return 0, err
		}
		for _, t := range tokens {
			if t.Global {
				reply.Tokens = append(reply.Tokens, t)
			}
		}
		if reply.AuthMethods, err = snap.ACLAuthMethods(); err != nil {
			return 0, err
		}
		if reply.BindingRules, err = snap.ACLBindingRules(); err != nil {
			return 0, err
		}
		if reply.Namespaces, err = snap.Namespaces(""); err != nil {
			return 0, err
		}
		reply.NodePools, err = replicatedNodePools(snap)
		return reply.Index, err
	})
	return err
}

// replicatedNodePools are the node pools replication carries: all but the
// built-in ones, which every region has.
func replicatedNodePools(snap *state.Snapshot) ([]*api.NodePool, error) {
	pools, err := snap.NodePools("")
	if err != nil {
		return nil, err
	}
	var out []*api.NodePool
	for _, p := range pools {
		if !structs.IsBuiltinNodePool(p.Name) {
			out = append(out, p)
		}
	}
	return out, nil
}

// replicationStatus is what agent-info reports of replication.
type replicationStatus struct {
	mu          sync.Mutex
	remoteIndex uint64
	lastSuccess time.Time
	lastError   string
}

// ReplicationStats describe replication from the authoritative region,
// for agent-info; nil when this server's region is the authoritative one.
func (s *Server) ReplicationStats() map[string]string {
	auth := s.config.AuthoritativeRegion
	if auth == "" || auth == s.config.Region {
		return nil
	}
	st := &s.replication
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]string{
		"authoritative_region": auth,
		"leader":               strconv.FormatBool(s.IsLeader()),
		"remote_index":         strconv.FormatUint(st.remoteIndex, 10),
		"last_error":           st.lastError,
		"last_success":         "never",
	}
	if !st.lastSuccess.IsZero() {
		out["last_success"] = st.lastSuccess.UTC().Format(time.RFC3339)
	}
	return out
}

// runReplication, on the leader of a region that is not authoritative,
// pulls the authoritative region's state until ctx ends.
func (s *Server) runReplication(ctx context.Context) {
	auth := s.config.AuthoritativeRegion
	pool := rpc.NewPool(s.regionDialConfig(auth))
	defer pool.Close()
	s.logger.Info("replicating ACLs and namespaces", "authoritative_region", auth)
	var index uint64
	for attempt := 0; ctx.Err() == nil; {
		next, err := s.replicateOnce(ctx, pool, auth, index)
		st := &s.replication
		st.mu.Lock()
		if err != nil {
			st.lastError = err.Error()
		} else {
			st.remoteIndex, st.lastSuccess, st.lastError = next, time.Now(), ""
		}
		st.mu.Unlock()
		if err == nil {
			index, attempt = next, 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("replication from the authoritative region failed", "authoritative_region", auth, "error", err)
		attempt++
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(attempt)*time.Second, 30*time.Second)):
		}
	}
}

// replicateOnce waits for the authoritative region's state to pass index,
// applies it and returns its new index.
func (s *Server) replicateOnce(ctx context.Context, pool *rpc.Pool, auth string, index uint64) (uint64, error) {
	addrs, err := s.RegionServers(auth)
	if err != nil {
		return 0, err
	}
	var reply structs.ReplicationFetchReply
	args := &structs.ReplicationFetchArgs{MinIndex: index, Wait: replicationWait}
	callCtx, cancel := context.WithTimeout(ctx, replicationWait+30*time.Second)
	defer cancel()
	if err := fromRemote(pool.Call(callCtx, addrs[0], "Replication.Fetch", args, &reply)); err != nil {
		return 0, err
	}
	if err := s.applyReplicated(&reply); err != nil {
		return 0, err
	}
	return reply.Index, nil
}

// applyReplicated makes this region's replicated state that of reply:
// upserts what differs, deletes what the authoritative region no longer
// has (local tokens stay), each kind in one Raft entry.
func (s *Server) applyReplicated(reply *structs.ReplicationFetchReply) error {
	snap := s.State().Snapshot()
	policies, err := snap.ACLPolicies()
	if err != nil {
		return err
	}
	roles, err := snap.ACLRoles()
	if err != nil {
		return err
	}
	allTokens, err := snap.ACLTokens()
	if err != nil {
		return err
	}
	var tokens []*api.ACLToken
	for _, t := range allTokens {
		if t.Global {
			tokens = append(tokens, t)
		}
	}
	methods, err := snap.ACLAuthMethods()
	if err != nil {
		return err
	}
	rules, err := snap.ACLBindingRules()
	if err != nil {
		return err
	}
	namespaces, err := snap.Namespaces("")
	if err != nil {
		return err
	}
	pools, err := replicatedNodePools(snap)
	if err != nil {
		return err
	}
	upPolicies, delPolicies := diffReplicated(policies, reply.Policies, func(p *api.ACLPolicy) string { return p.Name },
		func(p *api.ACLPolicy) any { c := *p; c.CreateIndex, c.ModifyIndex = 0, 0; return c })
	upRoles, delRoles := diffReplicated(roles, reply.Roles, func(r *api.ACLRole) string { return r.ID },
		func(r *api.ACLRole) any { c := *r; c.CreateIndex, c.ModifyIndex = 0, 0; return c })
	upTokens, delTokens := diffReplicated(tokens, reply.Tokens, func(t *api.ACLToken) string { return t.AccessorID },
		func(t *api.ACLToken) any { c := *t; c.CreateIndex, c.ModifyIndex = 0, 0; return c })
	upMethods, delMethods := diffReplicated(methods, reply.AuthMethods, func(m *api.ACLAuthMethod) string { return m.Name },
		func(m *api.ACLAuthMethod) any { c := *m; c.CreateIndex, c.ModifyIndex = 0, 0; return c })
	upRules, delRules := diffReplicated(rules, reply.BindingRules, func(r *api.ACLBindingRule) string { return r.ID },
		func(r *api.ACLBindingRule) any { c := *r; c.CreateIndex, c.ModifyIndex = 0, 0; return c })
	upNamespaces, delNamespaces := diffReplicated(namespaces, reply.Namespaces, func(n *api.Namespace) string { return n.Name },
		func(n *api.Namespace) any { c := *n; c.CreateIndex, c.ModifyIndex = 0, 0; return c })
	upPools, delPools := diffReplicated(pools, reply.NodePools, func(p *api.NodePool) string { return p.Name },
		func(p *api.NodePool) any { c := *p; c.CreateIndex, c.ModifyIndex = 0, 0; return c })
	steps := []struct {
		do  bool
		t   structs.MessageType
		req any
	}{
		{len(upPolicies) > 0, structs.ACLPolicyUpsertRequestType, &structs.ACLPolicyUpsertRequest{Policies: upPolicies}},
		{len(upRoles) > 0, structs.ACLRoleUpsertRequestType, &structs.ACLRoleUpsertRequest{Roles: upRoles}},
		{len(upTokens) > 0, structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: upTokens}},
		{len(upMethods) > 0, structs.ACLAuthMethodUpsertRequestType, &structs.ACLAuthMethodUpsertRequest{AuthMethods: upMethods}},
		{len(upRules) > 0, structs.ACLBindingRuleUpsertRequestType, &structs.ACLBindingRuleUpsertRequest{BindingRules: upRules}},
		{len(upNamespaces) > 0, structs.NamespaceUpsertRequestType, &structs.NamespaceUpsertRequest{Namespaces: upNamespaces}},
		{len(upPools) > 0, structs.NodePoolUpsertRequestType, &structs.NodePoolUpsertRequest{Pools: upPools}},
		{len(delRules) > 0, structs.ACLBindingRuleDeleteRequestType, &structs.ACLBindingRuleDeleteRequest{IDs: delRules}},
		{len(delMethods) > 0, structs.ACLAuthMethodDeleteRequestType, &structs.ACLAuthMethodDeleteRequest{Names: delMethods}},
		{len(delTokens) > 0, structs.ACLTokenDeleteRequestType, &structs.ACLTokenDeleteRequest{AccessorIDs: delTokens}},
		{len(delRoles) > 0, structs.ACLRoleDeleteRequestType, &structs.ACLRoleDeleteRequest{IDs: delRoles}},
		{len(delPolicies) > 0, structs.ACLPolicyDeleteRequestType, &structs.ACLPolicyDeleteRequest{Names: delPolicies}},
	}
	for _, step := range steps {
		if !step.do {
			continue
		}
		if _, err := s.raftApply(step.t, step.req); err != nil {
			return err
		}
	}
	// A namespace that still holds work here is kept, and so is a node
	// pool that still has nodes (a node that registers names its pool into
	// being): each is said so.
	for _, name := range delNamespaces {
		if name == structs.DefaultNamespace {
			continue
		}
		if _, err := s.raftApply(structs.NamespaceDeleteRequestType, &structs.NamespaceDeleteRequest{Names: []string{name}}); err != nil {
			s.logger.Warn("replicated namespace deletion refused here", "namespace", name, "error", err)
		}
	}
	for _, name := range delPools {
		if _, err := s.raftApply(structs.NodePoolDeleteRequestType, &structs.NodePoolDeleteRequest{Names: []string{name}}); err != nil {
			s.logger.Debug("replicated node pool deletion refused here", "node_pool", name, "error", err)
		}
	}
	return nil
}

// diffReplicated compares local objects with the authoritative ones:
// those to upsert (new or different, compared by content without their
// Raft indexes) and the keys of those to delete.
func diffReplicated[T any](local, remote []T, key func(T) string, content func(T) any) (upserts []T, deletes []string) {
	have := make(map[string]T, len(local))
	for _, l := range local {
		have[key(l)] = l
	}
	for _, r := range remote {
		l, ok := have[key(r)]
		if !ok || !reflect.DeepEqual(content(l), content(r)) {
			upserts = append(upserts, r)
		}
		delete(have, key(r))
	}
	for k := range have {
		deletes = append(deletes, k)
	}
	return upserts, deletes
}
