package scheduler

import (
	"cmp"
	"maps"
	"slices"

	"github.com/hashicorp/nomad/api"
)

// maxRetainedScores is how many of the best node scores a metric keeps.
const maxRetainedScores = 5

// newMetric starts the metric of one placement attempt.
func (s *nodeSelector) newMetric() *api.AllocationMetric {
	return &api.AllocationMetric{
		NodesInPool:    s.nodesInPool,
		NodePool:       s.pool,
		NodesAvailable: maps.Clone(s.available),
	}
}

// filterNode records that a node failed a feasibility check.
func filterNode(m *api.AllocationMetric, node *api.Node, reason string) {
	m.NodesFiltered++
	if node.NodeClass != "" {
		if m.ClassFiltered == nil {
			m.ClassFiltered = make(map[string]int)
		}
		m.ClassFiltered[node.NodeClass]++
	}
	if m.ConstraintFiltered == nil {
		m.ConstraintFiltered = make(map[string]int)
	}
	m.ConstraintFiltered[reason]++
}

// exhaustNode records that a node lacked room in one dimension.
func exhaustNode(m *api.AllocationMetric, node *api.Node, dimension string) {
	m.NodesExhausted++
	if node.NodeClass != "" {
		if m.ClassExhausted == nil {
			m.ClassExhausted = make(map[string]int)
		}
		m.ClassExhausted[node.NodeClass]++
	}
	if m.DimensionExhausted == nil {
		m.DimensionExhausted = make(map[string]int)
	}
	m.DimensionExhausted[dimension]++
}

// recordScore keeps the node's scores if they are among the best.
func recordScore(m *api.AllocationMetric, node *api.Node, o *offer) {
	meta := &api.NodeScoreMeta{NodeID: node.ID, Scores: o.scores, NormScore: o.score}
	i, _ := slices.BinarySearchFunc(m.ScoreMetaData, meta, func(a, b *api.NodeScoreMeta) int {
		return cmp.Compare(b.NormScore, a.NormScore)
	})
	if i >= maxRetainedScores {
		return
	}
	m.ScoreMetaData = slices.Insert(m.ScoreMetaData, i, meta)
	if len(m.ScoreMetaData) > maxRetainedScores {
		m.ScoreMetaData = m.ScoreMetaData[:maxRetainedScores]
	}
}
