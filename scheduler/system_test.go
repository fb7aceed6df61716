package scheduler

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestSystemScheduler covers system and sysbatch jobs: one allocation per
// group on every node that can run it.
func TestSystemScheduler(t *testing.T) {
	cases := []struct {
		name    string
		jobType string
		nodes   func() []*api.Node
		job     func(j *api.Job)
		// then changes the world after the first run; nil runs once.
		then   func(h *harness, job *api.Job) *api.Job
		check  func(t *testing.T, h *harness, placed, stopped []*api.Allocation, eval *api.Evaluation)
		allocs int // non-terminal allocations at the end
	}{
		{
			name:  "one alloc per eligible node",
			nodes: func() []*api.Node { return threeNodesOneIneligibleOneElsewhere() },
			check: func(t *testing.T, h *harness, placed, _ []*api.Allocation, eval *api.Evaluation) {
				if nodesOf(placed) != 3 {
					t.Errorf("allocs on %d nodes, want 3", nodesOf(placed))
				}
				for _, a := range placed {
					if a.Name != "sys.web[0]" || h.state.nodes[a.NodeID].Datacenter != "dc1" {
						t.Errorf("alloc %s on %s", a.Name, a.NodeName)
					}
				}
			},
			allocs: 3,
		},
		{
			name:  "constraint-filtered nodes are no failure",
			nodes: func() []*api.Node { return linuxAndWindows() },
			job: func(j *api.Job) {
				j.Constraints = []*api.Constraint{{LTarget: "${attr.kernel.name}", Operand: "=", RTarget: "linux"}}
			},
			check: func(t *testing.T, h *harness, placed, _ []*api.Allocation, eval *api.Evaluation) {
				if len(eval.FailedTGAllocs) != 0 {
					t.Errorf("failures = %+v", eval.FailedTGAllocs["web"])
				}
			},
			allocs: 3,
		},
		{
			name: "exhausted node recorded without blocked eval",
			nodes: func() []*api.Node {
				return append(makeNodes(2, nodeSpec{}), makeNodes(1, nodeSpec{memoryMB: 100, datacenter: "dc1x"})...)
			},
			job: func(j *api.Job) { j.Datacenters = []string{"dc1*"} },
			check: func(t *testing.T, h *harness, placed, _ []*api.Allocation, eval *api.Evaluation) {
				m := eval.FailedTGAllocs["web"]
				if m == nil || m.DimensionExhausted["memory"] != 1 || eval.QueuedAllocations["web"] != 1 || len(h.created) != 0 {
					t.Errorf("metric = %+v, created %d", m, len(h.created))
				}
			},
			allocs: 2,
		},
		{
			name:  "new node gets an alloc",
			nodes: func() []*api.Node { return makeNodes(2, nodeSpec{}) },
			then: func(h *harness, job *api.Job) *api.Job {
				n := makeNodes(3, nodeSpec{})[2]
				h.state.upsertNodes(n)
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, _ *api.Evaluation) {
				if len(h.fresh(placed)) != 1 || h.fresh(placed)[0].NodeID != makeNodes(3, nodeSpec{})[2].ID || len(stopped) != 0 {
					t.Errorf("placed %v, stopped %v", namesOf(placed), namesOf(stopped))
				}
			},
			allocs: 3,
		},
		{
			name:  "down node alloc is lost, not moved",
			nodes: func() []*api.Node { return makeNodes(3, nodeSpec{}) },
			then: func(h *harness, job *api.Job) *api.Job {
				down := *h.state.nodes[makeNodes(1, nodeSpec{})[0].ID]
				down.Status = structs.NodeStatusDown
				h.state.upsertNodes(&down)
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, _ *api.Evaluation) {
				if len(h.fresh(placed)) != 0 || len(stopped) != 1 || stopped[0].ClientStatus != structs.AllocClientStatusLost {
					t.Errorf("placed %v, stopped %+v", namesOf(placed), stopped)
				}
			},
			allocs: 2,
		},
		{
			name:  "destructive update replaces on the same node",
			nodes: func() []*api.Node { return makeNodes(2, nodeSpec{}) },
			then: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) { j.TaskGroups[0].Tasks[0].Env = map[string]string{"A": "1"} })
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, _ *api.Evaluation) {
				if len(stopped) != 2 || len(h.fresh(placed)) != 2 {
					t.Fatalf("placed %d, stopped %d", len(placed), len(stopped))
				}
				for _, a := range placed {
					prev := h.state.allocs[a.PreviousAllocation]
					if prev == nil || prev.NodeID != a.NodeID {
						t.Errorf("replacement %s moved off its node", a.ID)
					}
				}
			},
			allocs: 2,
		},
		{
			name:    "sysbatch completed allocs are not rerun",
			jobType: structs.JobTypeSysbatch,
			nodes:   func() []*api.Node { return makeNodes(2, nodeSpec{}) },
			then: func(h *harness, job *api.Job) *api.Job {
				h.setClientStatus(job, structs.AllocClientStatusComplete, "sys.web[0]")
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, _ *api.Evaluation) {
				if len(h.fresh(placed)) != 0 || len(stopped) != 0 {
					t.Errorf("placed %v, stopped %v", namesOf(placed), namesOf(stopped))
				}
			},
			allocs: 0,
		},
		{
			name:  "job stop",
			nodes: func() []*api.Node { return makeNodes(2, nodeSpec{}) },
			then: func(h *harness, job *api.Job) *api.Job {
				j := cloneJob(job)
				j.Stop = new(true)
				return j
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, _ *api.Evaluation) {
				wantDesc(t, stopped, allocNotNeeded, "")
				if len(stopped) != 2 {
					t.Errorf("stopped %d", len(stopped))
				}
			},
			allocs: 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(tc.nodes()...)
			jobType := cmpOr(tc.jobType, structs.JobTypeSystem)
			job := testJob("sys", jobType, 1)
			if tc.job != nil {
				tc.job(job)
			}
			h.runJob(job)
			if tc.then != nil {
				next := tc.then(h, job)
				h.markExisting(job)
				h.state.upsertJob(next)
				plans := len(h.plans)
				h.process(jobType, registerEval(next))
				if len(h.plans) == plans {
					h.plans = append(h.plans, &structs.Plan{})
				}
			}
			tc.check(t, h, planAllocs(h.lastPlan()), planStops(h.lastPlan()), h.lastEval())
			if got := len(h.runningAllocs(job)); got != tc.allocs {
				t.Errorf("%d allocs running, want %d", got, tc.allocs)
			}
		})
	}
}

func threeNodesOneIneligibleOneElsewhere() []*api.Node {
	nodes := makeNodes(4, nodeSpec{})
	nodes[3].SchedulingEligibility = structs.NodeSchedulingIneligible
	other := makeNodes(6, nodeSpec{datacenter: "dc2"})[5]
	return append(nodes, other)
}

func linuxAndWindows() []*api.Node {
	nodes := makeNodes(3, nodeSpec{})
	nodes[1].Attributes["kernel.name"] = "windows"
	return append(nodes, makeNodes(4, nodeSpec{})[3])
}
