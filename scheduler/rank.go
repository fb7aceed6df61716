package scheduler

import (
	"math"

	"github.com/hashicorp/nomad/api"
)

// Score names, as Nomad reports them in ScoreMetaData.
const (
	scoreBinPack           = "binpack"
	scoreJobAntiAffinity   = "job-anti-affinity"
	scoreReschedulePenalty = "node-reschedule-penalty"
	scoreNodeAffinity      = "node-affinity"
	scoreDevices           = "devices"
)

// binPackMaxScore bounds the raw bin-packing score.
const binPackMaxScore = 18.0

// rank scores an offer: bin-packing (or its opposite under the spread
// algorithm), a penalty for sharing the node with
// the group's other allocations, a penalty for the node a failed
// allocation ran on, the node's affinity and the group's spread. The final score is the mean
// of the scores that apply.
func (s *nodeSelector) rank(gc *groupChecks, o *offer, penaltyNode string) {
	node := o.usage.node
	fit := binPackScore(o)
	if s.run.s.opts.Algorithm == api.SchedulerAlgorithmSpread {
		fit = 1 - fit
	}
	o.scores = map[string]float64{scoreBinPack: fit}
	if same := o.usage.groupAllocs[gc.name]; same > 0 && gc.count > 0 {
		o.scores[scoreJobAntiAffinity] = -float64(same+1) / float64(gc.count)
	}
	if penaltyNode != "" && penaltyNode == node.ID {
		o.scores[scoreReschedulePenalty] = -1
	}
	if len(gc.affinities) > 0 {
		if a := s.affinityScore(gc.affinities, node); a != 0 {
			o.scores[scoreNodeAffinity] = a
		}
	}
	if o.deviceScore != 0 {
		o.scores[scoreDevices] = o.deviceScore
	}
	if len(gc.spreads) > 0 {
		o.scores[scoreSpread] = spreadScore(gc.spreads, node, s.region)
	}
	total := 0.0
	for _, v := range o.scores {
		total += v
	}
	o.score = total / float64(len(o.scores))
}

// binPackScore favours nodes the offer leaves fuller, on cpu and memory,
// normalised to [0, 1].
func binPackScore(o *offer) float64 {
	u := o.usage
	cpu := utilisation(u.cpu+o.cpu, u.capacity.CPUShares)
	mem := utilisation(u.memoryMB+o.memoryMB, u.capacity.MemoryMB)
	free := math.Pow(10, 1-cpu) + math.Pow(10, 1-mem)
	score := min(max(20-free, 0), binPackMaxScore)
	return score / binPackMaxScore
}

func utilisation(used, capacity int64) float64 {
	if capacity <= 0 {
		return 1
	}
	return float64(used) / float64(capacity)
}

// affinityScore is the weighted share of affinities the node meets, in
// [-1, 1].
func (s *nodeSelector) affinityScore(affinities []*api.Affinity, node *api.Node) float64 {
	var sum, total float64
	for _, a := range affinities {
		w := float64(deref(a.Weight))
		if a.Weight == nil {
			w = 50
		}
		total += math.Abs(w)
		c := &api.Constraint{LTarget: a.LTarget, RTarget: a.RTarget, Operand: a.Operand}
		if s.matcher.meets(c, node, s.region) {
			sum += w
		}
	}
	if total == 0 {
		return 0
	}
	return sum / total
}
