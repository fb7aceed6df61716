package scheduler

import (
	"cmp"
	"maps"
	"slices"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// reconcileSystem computes the changes for a system or sysbatch job: one
// allocation of each group on every ready node, in the job's datacenters
// and pool, that passes the group's checks. Allocations on lost nodes are
// stopped and not replaced elsewhere.
func (r *reconciler) reconcileSystem(sel *nodeSelector) reconcileResult {
	r.result.desired = make(map[string]*api.DesiredUpdates)
	r.restored = make(map[string]bool)
	byGroup := make(map[string][]*api.Allocation)
	for _, a := range r.allocs {
		byGroup[a.TaskGroup] = append(byGroup[a.TaskGroup], a)
	}
	for _, tg := range r.job.TaskGroups {
		name := deref(tg.Name)
		r.reconcileSystemGroup(tg, byGroup[name], sel)
		delete(byGroup, name)
	}
	for _, name := range slices.Sorted(maps.Keys(byGroup)) {
		r.stopGroup(name, byGroup[name])
	}
	return r.result
}

// reconcileSystemGroup keeps one allocation of the group per node.
func (r *reconciler) reconcileSystemGroup(tg *api.TaskGroup, allocs []*api.Allocation, sel *nodeSelector) {
	d := r.desiredFor(deref(tg.Name))
	covered := make(map[string]bool)
	failedOn := make(map[string]*api.Allocation)
	slices.SortFunc(allocs, func(a, b *api.Allocation) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) })
	for _, a := range allocs {
		if structs.AllocServerTerminal(a) {
			continue
		}
		a, held := r.systemDisconnect(tg, a, d)
		if held {
			covered[a.NodeID] = true
			continue
		}
		switch {
		case a.ClientStatus == structs.AllocClientStatusComplete,
			a.ClientStatus == structs.AllocClientStatusFailed && r.batch:
			// A sysbatch allocation runs once per node.
			covered[a.NodeID] = covered[a.NodeID] || r.batch
			d.Ignore++
		case a.ClientStatus == structs.AllocClientStatusFailed:
			failedOn[a.NodeID] = a
		case a.ClientStatus == structs.AllocClientStatusLost:
		case r.nodeLost(a):
			r.stop(a, allocLost, structs.AllocClientStatusLost)
			d.Stop++
		case covered[a.NodeID] || !sel.canRun(r.nodes[a.NodeID], tg):
			r.stop(a, allocNotNeeded, "")
			d.Stop++
		case deref(a.DesiredTransition.Migrate):
			r.stop(a, allocMigrating, "")
			d.Migrate++
		default:
			covered[a.NodeID] = true
			r.update(tg, a, d)
		}
	}
	for _, node := range sel.nodesByID() {
		if covered[node.ID] {
			continue
		}
		p := placement{group: tg, name: allocName(r.job, deref(tg.Name), 0), node: node}
		if prev := failedOn[node.ID]; prev != nil {
			p.previous, p.stopDesc = prev, allocRescheduled
		}
		r.result.places = append(r.result.places, p)
		d.Place++
	}
}

// canRun reports whether the node is in the job's datacenters and pool and
// passes the group's node checks, whatever its readiness.
func (s *nodeSelector) canRun(node *api.Node, tg *api.TaskGroup) bool {
	job := s.run.job
	return node != nil && nodeInPool(node, s.pool) && nodeInDatacenters(node, job.Datacenters) &&
		s.groupChecks(tg).staticReason(node, s.matcher, s.region) == ""
}

// nodesByID lists the candidate nodes in ID order.
func (s *nodeSelector) nodesByID() []*api.Node {
	nodes := slices.Clone(s.nodes)
	slices.SortFunc(nodes, func(a, b *api.Node) int { return cmp.Compare(a.ID, b.ID) })
	return nodes
}

// selectFor picks the node of placement p: its pinned node, or the best of
// the candidates. A nil metric with a nil offer means the pinned node does
// not pass the group's checks.
func (s *nodeSelector) selectFor(gc *groupChecks, p placement) (*offer, *api.AllocationMetric, error) {
	if p.node == nil {
		return s.selectNode(gc, p)
	}
	s.countExisting(gc)
	node := p.node
	if gc.staticReason(node, s.matcher, s.region) != "" {
		return nil, nil, nil
	}
	u, err := s.usageOf(node)
	if err != nil {
		return nil, nil, err
	}
	if gc.distinctReason(node, u, s.region) != "" {
		return nil, nil, nil
	}
	m := s.newMetric()
	m.NodesEvaluated = 1
	o, dim := u.makeOffer(gc.ask, s.run.s.opts.Rand, s.matcher)
	if dim != "" {
		exhaustNode(m, node, dim)
		return nil, m, nil
	}
	s.rank(gc, o, "")
	recordScore(m, node, o)
	return o, m, nil
}
