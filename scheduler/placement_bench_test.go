package scheduler

import (
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// acceptingPlanner commits every plan without applying it, so a benchmark
// times the scheduler alone.
type acceptingPlanner struct{ placed int }

func (p *acceptingPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, State, error) {
	for _, allocs := range plan.NodeAllocation {
		p.placed += len(allocs)
	}
	return &structs.PlanResult{NodeAllocation: plan.NodeAllocation, NodeUpdate: plan.NodeUpdate}, nil, nil
}

func (p *acceptingPlanner) UpdateEval(*api.Evaluation) error  { return nil }
func (p *acceptingPlanner) CreateEval(*api.Evaluation) error  { return nil }
func (p *acceptingPlanner) ReblockEval(*api.Evaluation) error { return nil }

// BenchmarkPlacement5000On1000Nodes places a batch job of count 5000 on
// 1,000 empty nodes and reports placements per second.
func BenchmarkPlacement5000On1000Nodes(b *testing.B) {
	const count = 5000
	state := newMemState()
	state.upsertNodes(makeNodes(1000, nodeSpec{cpu: 16000, memoryMB: 32768})...)
	job := testJob("bench", "batch", count)
	job.TaskGroups[0].Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
	state.upsertJob(job)
	eval := registerEval(job)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		planner := &acceptingPlanner{}
		s, err := New("batch", state, planner, Options{Rand: rand.New(rand.NewPCG(uint64(i), 7))})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Process(eval); err != nil {
			b.Fatal(err)
		}
		if planner.placed != count {
			b.Fatalf("placed %d, want %d", planner.placed, count)
		}
	}
	b.ReportMetric(float64(count*b.N)/b.Elapsed().Seconds(), "placements/s")
}
