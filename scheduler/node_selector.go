package scheduler

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// minCandidates is how many fitting nodes a placement scores at least
// before it picks the best: batch jobs score this many, service jobs
// log2(nodes), groups with affinities or spreads every node.
const minCandidates = 2

// nodeSelector picks nodes for one evaluation's placements. Candidate nodes
// (ready, in the job's datacenters and pool) are shuffled once and walked as
// a ring, so successive placements look at different nodes; a placement
// scores a limited number of fitting nodes and takes the best.
type nodeSelector struct {
	run         *evalRun
	region      string
	nodes       []*api.Node
	offset      int
	usage       map[string]*nodeUsage
	matcher     *constraintMatcher
	groups      map[string]*groupChecks
	nodesInPool int
	available   map[string]int
	pool        string
	// jobAllocs holds the evaluated job's allocations (of any status,
	// stale ones included) by node.
	jobAllocs map[string][]*api.Allocation
}

func newNodeSelector(run *evalRun, nodes []*api.Node) *nodeSelector {
	job := run.job
	s := &nodeSelector{
		run:       run,
		region:    deref(job.Region),
		usage:     make(map[string]*nodeUsage),
		matcher:   newConstraintMatcher(),
		groups:    make(map[string]*groupChecks),
		available: make(map[string]int),
		pool:      deref(job.NodePool),
		jobAllocs: make(map[string][]*api.Allocation),
	}
	for _, list := range [][]*api.Allocation{run.allocs, run.stale} {
		for _, a := range list {
			s.jobAllocs[a.NodeID] = append(s.jobAllocs[a.NodeID], a)
		}
	}
	if s.pool == "" {
		s.pool = structs.NodePoolDefault
	}
	for _, dc := range job.Datacenters {
		if !strings.Contains(dc, "*") {
			s.available[dc] = 0
		}
	}
	for _, n := range nodes {
		if !structs.NodeReady(n) || !nodeInPool(n, s.pool) {
			continue
		}
		s.nodesInPool++
		if nodeInDatacenters(n, job.Datacenters) {
			s.available[n.Datacenter]++
			s.nodes = append(s.nodes, n)
		}
	}
	slices.SortFunc(s.nodes, func(a, b *api.Node) int { return cmp.Compare(a.ID, b.ID) })
	run.s.opts.Rand.Shuffle(len(s.nodes), func(i, j int) { s.nodes[i], s.nodes[j] = s.nodes[j], s.nodes[i] })
	return s
}

// groupChecks returns the compiled checks of the job's group tg.
func (s *nodeSelector) groupChecks(tg *api.TaskGroup) *groupChecks {
	name := deref(tg.Name)
	gc, ok := s.groups[name]
	if !ok {
		gc = newGroupChecks(s.run.job, tg, len(s.nodes))
		s.groups[name] = gc
	}
	return gc
}

// fitsInPlace reports whether the alloc's node still passes the group's
// node checks, so the alloc may move to the new job version in place.
func (s *nodeSelector) fitsInPlace(a *api.Allocation, tg *api.TaskGroup) bool {
	node := s.run.nodes[a.NodeID]
	return node != nil && s.groupChecks(tg).staticReason(node, s.matcher, s.region) == ""
}

// usageOf returns what the node has in use: on first use, its usage in
// the state less the allocations the plan stops there, and the job's
// allocations on it counted per group.
func (s *nodeSelector) usageOf(node *api.Node) (*nodeUsage, error) {
	if u, ok := s.usage[node.ID]; ok {
		return u, nil
	}
	base, err := s.run.state.NodeUsage(node.ID)
	if err != nil {
		return nil, fmt.Errorf("usage of node %s: %w", node.ID, err)
	}
	u, err := newNodeUsage(node, base)
	if err != nil {
		return nil, err
	}
	for _, a := range s.jobAllocs[node.ID] {
		switch {
		case structs.AllocTerminal(a):
		case s.run.stopped[a.ID]:
			u.add(a, -1, false)
		case s.run.ownJob(a):
			addCount(&u.groupAllocs, a.TaskGroup, 1)
		}
	}
	s.usage[node.ID] = u
	return u, nil
}

// limit is how many fitting nodes a placement of gc scores.
func (s *nodeSelector) limit(gc *groupChecks) int {
	n := len(s.nodes)
	if len(gc.affinities) > 0 || len(gc.spreads) > 0 {
		return n
	}
	if s.run.s.batch || n < 2 {
		return minCandidates
	}
	return max(minCandidates, int(math.Ceil(math.Log2(float64(n)))))
}

// selectNode finds the best node for placement p of group gc. It returns
// the winning offer, or nil when no node fits, and the metric that tells
// how the nodes fared.
func (s *nodeSelector) selectNode(gc *groupChecks, p placement) (*offer, *api.AllocationMetric, error) {
	start := time.Now()
	m := s.newMetric()
	s.countExisting(gc)
	penaltyNode := ""
	if p.reschedule && p.previous != nil {
		penaltyNode = p.previous.NodeID
	}
	if p.previous != nil && !p.reschedule && stickyDisk(gc.group) {
		o, err := s.offerOnNode(gc, p.previous.NodeID, m)
		if o != nil || err != nil {
			m.AllocationTime = time.Since(start)
			return o, m, err
		}
	}
	var best *offer
	n, limit, found, seen := len(s.nodes), s.limit(gc), 0, 0
	for ; seen < n && found < limit; seen++ {
		i := (s.offset + seen) % n
		node := s.nodes[i]
		m.NodesEvaluated++
		if reason := gc.cachedReason(i, node, s.matcher, s.region); reason != "" {
			filterNode(m, node, reason)
			continue
		}
		u, err := s.usageOf(node)
		if err != nil {
			return nil, nil, err
		}
		if reason := gc.distinctReason(node, u, s.region); reason != "" {
			filterNode(m, node, reason)
			continue
		}
		o, dim := u.makeOffer(gc.ask, s.run.s.opts.Rand, s.matcher)
		if dim != "" {
			exhaustNode(m, node, dim)
			continue
		}
		s.rank(gc, o, penaltyNode)
		recordScore(m, node, o)
		found++
		if best == nil || o.score > best.score {
			best = o
		}
	}
	if n > 0 {
		s.offset = (s.offset + seen) % n
	}
	m.AllocationTime = time.Since(start)
	return best, m, nil
}

// stickyDisk reports whether the group's ephemeral disk is sticky: its
// replacements stay on the node that holds the data when they can.
func stickyDisk(tg *api.TaskGroup) bool {
	d := tg.EphemeralDisk
	return d != nil && d.Sticky != nil && *d.Sticky
}

// offerOnNode is the offer of one candidate node, or nil when it is no
// candidate or cannot take the group.
func (s *nodeSelector) offerOnNode(gc *groupChecks, nodeID string, m *api.AllocationMetric) (*offer, error) {
	i := slices.IndexFunc(s.nodes, func(n *api.Node) bool { return n.ID == nodeID })
	if i < 0 {
		return nil, nil
	}
	node := s.nodes[i]
	m.NodesEvaluated++
	if reason := gc.cachedReason(i, node, s.matcher, s.region); reason != "" {
		filterNode(m, node, reason)
		return nil, nil
	}
	u, err := s.usageOf(node)
	if err != nil {
		return nil, err
	}
	if reason := gc.distinctReason(node, u, s.region); reason != "" {
		filterNode(m, node, reason)
		return nil, nil
	}
	o, dim := u.makeOffer(gc.ask, s.run.s.opts.Rand, s.matcher)
	if dim != "" {
		exhaustNode(m, node, dim)
		return nil, nil
	}
	s.rank(gc, o, "")
	recordScore(m, node, o)
	return o, nil
}

// countExisting counts, once per group, the allocations that already hold
// values of its distinct_property constraints and spread attributes.
func (s *nodeSelector) countExisting(gc *groupChecks) {
	var fresh []func(a *api.Allocation, node *api.Node)
	for _, d := range gc.distinct {
		if d.counts == nil {
			d.counts = make(map[string]int)
			fresh = append(fresh, func(a *api.Allocation, n *api.Node) { d.count(a, n, s.region, 1) })
		}
	}
	for _, sc := range gc.spreads {
		if sc.counts == nil {
			sc.counts = make(map[string]int)
			fresh = append(fresh, func(a *api.Allocation, n *api.Node) { sc.add(a, n, s.region, 1) })
		}
	}
	if len(fresh) == 0 {
		return
	}
	count := func(a *api.Allocation) {
		for _, f := range fresh {
			f(a, s.run.nodes[a.NodeID])
		}
	}
	seen := make(map[string]bool)
	for _, a := range s.run.allocs {
		seen[a.ID] = true
		if !structs.AllocTerminal(a) && !s.run.stopped[a.ID] {
			count(a)
		}
	}
	for _, allocs := range s.run.plan.NodeAllocation {
		for _, a := range allocs {
			if !seen[a.ID] {
				count(a)
			}
		}
	}
}

// track counts alloc on its node (delta 1) or takes it off (delta -1) in
// every structure that was already built from the state.
func (s *nodeSelector) track(a *api.Allocation, delta int) {
	if u, ok := s.usage[a.NodeID]; ok {
		u.add(a, delta, s.run.ownJob(a))
	}
	node := s.run.nodes[a.NodeID]
	for _, gc := range s.groups {
		for _, d := range gc.distinct {
			d.count(a, node, s.region, delta)
		}
		for _, sc := range gc.spreads {
			sc.add(a, node, s.region, delta)
		}
	}
}
