package scheduler

import (
	"github.com/hashicorp/nomad/api"
)

// scoreSpread is the score name of spread, as Nomad reports it.
const scoreSpread = "allocation-spread"

// spreadCounter follows how a group's allocations are spread over the
// values of one spread attribute, and scores nodes by how much a placement
// there would bring the spread closer to its targets (or to even, when the
// spread names none).
type spreadCounter struct {
	attribute string
	weight    float64
	group     string
	count     int
	// percent maps target values to their share; rest is the share of
	// values no target names.
	percent map[string]float64
	rest    float64
	counts  map[string]int // nil until the existing allocations are counted
}

func newSpreadCounter(s *api.Spread, group string, count int) *spreadCounter {
	sc := &spreadCounter{attribute: s.Attribute, weight: 50, group: group, count: count}
	if s.Weight != nil {
		sc.weight = float64(*s.Weight)
	}
	if len(s.SpreadTarget) > 0 {
		sc.percent = make(map[string]float64)
		sc.rest = 100
		for _, t := range s.SpreadTarget {
			if t != nil {
				sc.percent[t.Value] = float64(t.Percent)
				sc.rest -= float64(t.Percent)
			}
		}
	}
	return sc
}

// add counts alloc at node's value of the attribute (delta 1 or -1).
func (sc *spreadCounter) add(a *api.Allocation, node *api.Node, region string, delta int) {
	if sc.counts == nil || node == nil || a.TaskGroup != sc.group {
		return
	}
	if v, ok := resolveTarget(sc.attribute, node, region); ok {
		sc.counts[v] += delta
	}
}

// score is in [-1, 1]: positive where the value has fewer allocations than
// its share, negative where it has more or where the node lacks the
// attribute.
func (sc *spreadCounter) score(node *api.Node, region string) float64 {
	v, ok := resolveTarget(sc.attribute, node, region)
	if !ok {
		return -1
	}
	used := float64(sc.counts[v])
	if sc.percent == nil {
		return sc.evenScore(used)
	}
	share, named := sc.percent[v]
	if !named {
		share = max(sc.rest, 0)
	}
	desired := share / 100 * float64(sc.count)
	if desired <= 0 {
		return -1
	}
	// used counts the allocation being placed.
	return min(max((desired-used-1)/desired, -1), 1)
}

// evenScore favours values with fewer allocations than the busiest value.
func (sc *spreadCounter) evenScore(used float64) float64 {
	lo, hi := -1.0, 0.0
	for _, n := range sc.counts {
		c := float64(n)
		hi = max(hi, c)
		if lo < 0 || c < lo {
			lo = c
		}
	}
	switch {
	case hi == 0:
		return 0
	case used < hi:
		return (hi - used) / hi
	default:
		return -(used - max(lo, 0)) / hi
	}
}

// spreadScore is the weighted mean of the group's spread scores for node.
func spreadScore(spreads []*spreadCounter, node *api.Node, region string) float64 {
	var sum, weights float64
	for _, sc := range spreads {
		sum += sc.weight * sc.score(node, region)
		weights += sc.weight
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}
