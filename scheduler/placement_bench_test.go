package scheduler

import (
	"fmt"
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

// BenchmarkPlacementServiceOnBusyNodes places a service job of count
// 1,000 on 1,000 nodes that already run none or 100 allocations of other
// jobs each (C1M's nodes end with 200), and reports placements per second:
// the scheduler's per-placement cost as nodes fill.
func BenchmarkPlacementServiceOnBusyNodes(b *testing.B) {
	const nodes, count = 1000, 1000
	for _, perNode := range []int{0, 100} {
		b.Run(fmt.Sprintf("%d per node", perNode), func(b *testing.B) {
			state := newMemState()
			ns := makeNodes(nodes, nodeSpec{cpu: 64000, memoryMB: 256 << 10})
			state.upsertNodes(ns...)
			filler := testJob("filler", "service", nodes*perNode)
			state.upsertJob(filler)
			for i, n := range ns {
				for k := 0; k < perNode; k++ {
					state.upsertAllocs(&api.Allocation{
						ID: fmt.Sprintf("filler-%d-%d", i, k), Namespace: "default", JobID: "filler", Job: filler,
						TaskGroup: "web", NodeID: n.ID, DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
						AllocatedResources: &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{
							"server": {Cpu: api.AllocatedCpuResources{CpuShares: 100}, Memory: api.AllocatedMemoryResources{MemoryMB: 128}},
						}},
					})
				}
			}
			job := testJob("bench", "service", count)
			state.upsertJob(job)
			eval := registerEval(job)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				planner := &acceptingPlanner{}
				s, err := New("service", state, planner, Options{Rand: rand.New(rand.NewPCG(uint64(i), 7))})
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
		})
	}
}
