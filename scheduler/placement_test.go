package scheduler

import (
	"slices"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestPlacement covers fresh placements of a new job and the metrics
// recorded when they fail.
func TestPlacement(t *testing.T) {
	cases := []struct {
		name    string
		nodes   []*api.Node
		job     func() *api.Job
		placed  int
		failed  int // placements that could not be made
		checkFn func(t *testing.T, h *harness, placed []*api.Allocation, metric *api.AllocationMetric)
	}{
		{
			name:   "count spread over nodes",
			nodes:  makeNodes(5, nodeSpec{}),
			job:    func() *api.Job { return testJob("web", "service", 10) },
			placed: 10,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				for i, a := range placed {
					if want := allocName(testJob("web", "service", 1), "web", i); a.Name != want {
						t.Errorf("alloc %d name = %q, want %q", i, a.Name, want)
					}
					if a.ID == "" || a.EvalID == "" || a.NodeName == "" || a.Job == nil || a.Metrics == nil ||
						a.DesiredStatus != "run" || a.ClientStatus != "pending" || a.Namespace != "default" {
						t.Errorf("alloc %s lacks fields: %+v", a.Name, a)
					}
					ar := a.AllocatedResources
					if ar == nil || ar.Tasks["server"].Cpu.CpuShares != 500 || ar.Tasks["server"].Memory.MemoryMB != 256 || ar.Shared.DiskMB != 300 {
						t.Errorf("alloc %s allocated resources = %+v", a.Name, ar)
					}
					if deref(a.Resources.CPU) != 500 || deref(a.TaskResources["server"].MemoryMB) != 256 {
						t.Errorf("alloc %s deprecated resources not filled", a.Name)
					}
				}
				perNode := map[string]int{}
				for _, a := range placed {
					perNode[a.NodeID]++
				}
				if len(perNode) < 3 {
					t.Errorf("10 allocs landed on %d nodes; anti-affinity should spread them", len(perNode))
				}
			},
		},
		{
			name:  "constraint filtering recorded",
			nodes: makeNodes(3, nodeSpec{class: "large"}),
			job: func() *api.Job {
				return withConstraint(testJob("win", "service", 2), "${attr.kernel.name}", "=", "windows")
			},
			failed: 2,
			checkFn: func(t *testing.T, _ *harness, _ []*api.Allocation, m *api.AllocationMetric) {
				if m.NodesEvaluated != 3 || m.NodesFiltered != 3 || m.ConstraintFiltered["${attr.kernel.name} = windows"] != 3 || m.ClassFiltered["large"] != 3 {
					t.Errorf("metric = %+v", m)
				}
				if m.CoalescedFailures != 1 || m.NodesAvailable["dc1"] != 3 || m.NodesInPool != 3 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name:   "memory exhaustion recorded",
			nodes:  makeNodes(2, nodeSpec{memoryMB: 1000}),
			job:    func() *api.Job { return testJob("big", "service", 8) },
			placed: 6, // 3 per node fit: 3*256 <= 1000 < 4*256
			checkFn: func(t *testing.T, _ *harness, placed []*api.Allocation, m *api.AllocationMetric) {
				if m.NodesExhausted != 2 || m.DimensionExhausted["memory"] != 2 {
					t.Errorf("metric = %+v", m)
				}
			},
			failed: 2,
		},
		{
			name:  "static port collision",
			nodes: makeNodes(2, nodeSpec{}),
			job: func() *api.Job {
				j := testJob("static", "service", 3)
				j.TaskGroups[0].Networks = []*api.NetworkResource{{ReservedPorts: []api.Port{{Label: "http", Value: 8080}}}}
				return j
			},
			placed: 2,
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, placed []*api.Allocation, m *api.AllocationMetric) {
				if placed[0].NodeID == placed[1].NodeID {
					t.Error("two allocs with static port 8080 on one node")
				}
				p := placed[0].AllocatedResources.Shared.Ports
				if len(p) != 1 || p[0].Label != "http" || p[0].Value != 8080 || p[0].HostIP == "" {
					t.Errorf("ports = %+v", p)
				}
				if m.DimensionExhausted[structs.DimensionReservedPortCollide] != 2 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name:  "node reserved port is not given out",
			nodes: makeNodes(1, nodeSpec{reservedPorts: "22,8000-8100"}),
			job: func() *api.Job {
				j := testJob("ssh", "service", 1)
				j.TaskGroups[0].Networks = []*api.NetworkResource{{ReservedPorts: []api.Port{{Label: "ssh", Value: 22}}}}
				return j
			},
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, _ []*api.Allocation, m *api.AllocationMetric) {
				if m.DimensionExhausted[structs.DimensionReservedPortCollide] != 1 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name:  "dynamic ports distinct on one node",
			nodes: makeNodes(1, nodeSpec{minPort: 30000, maxPort: 30019}),
			job: func() *api.Job {
				j := testJob("dyn", "service", 10)
				j.TaskGroups[0].Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}, {Label: "admin", To: -1}}}}
				j.TaskGroups[0].Tasks[0].Resources.CPU = new(100)
				return j
			},
			placed: 10,
			checkFn: func(t *testing.T, _ *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				seen := map[int]bool{}
				for _, a := range placed {
					for _, p := range a.AllocatedResources.Shared.Ports {
						if seen[p.Value] || p.Value < 30000 || p.Value > 30019 {
							t.Errorf("port %d reused or out of range", p.Value)
						}
						if p.Label == "admin" && p.To != p.Value {
							t.Errorf("admin port To = %d, want %d", p.To, p.Value)
						}
						seen[p.Value] = true
					}
				}
				if len(seen) != 20 {
					t.Errorf("%d distinct ports, want 20", len(seen))
				}
			},
		},
		{
			name:  "task network ports",
			nodes: makeNodes(1, nodeSpec{}),
			job: func() *api.Job {
				j := testJob("taskports", "service", 2)
				j.TaskGroups[0].Tasks[0].Resources.Networks = []*api.NetworkResource{{
					ReservedPorts: []api.Port{{Label: "metrics", Value: 9100}},
					DynamicPorts:  []api.Port{{Label: "http"}},
				}}
				return j
			},
			placed: 1,
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, placed []*api.Allocation, m *api.AllocationMetric) {
				nets := placed[0].AllocatedResources.Tasks["server"].Networks
				if len(nets) != 1 || nets[0].IP == "" || nets[0].DynamicPorts[0].Value < 20000 || nets[0].ReservedPorts[0].Value != 9100 {
					t.Errorf("task networks = %+v", nets)
				}
				if len(placed[0].TaskResources["server"].Networks) != 1 {
					t.Error("deprecated task resources lack the network")
				}
				if m.DimensionExhausted[structs.DimensionReservedPortCollide] != 1 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name:  "distinct_hosts",
			nodes: makeNodes(3, nodeSpec{}),
			job: func() *api.Job {
				return withConstraint(testJob("dh", "service", 4), "", api.ConstraintDistinctHosts, "true")
			},
			placed: 3,
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, placed []*api.Allocation, m *api.AllocationMetric) {
				if nodesOf(placed) != 3 {
					t.Error("distinct_hosts allocs share a node")
				}
				if m.ConstraintFiltered[api.ConstraintDistinctHosts] != 3 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name:  "distinct_property",
			nodes: makeNodes(4, nodeSpec{}),
			job: func() *api.Job {
				return withConstraint(testJob("dp", "service", 3), "${meta.rack}", api.ConstraintDistinctProperty, "")
			},
			placed: 2,
			failed: 1,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, m *api.AllocationMetric) {
				racks := map[string]bool{}
				for _, a := range placed {
					racks[h.state.nodes[a.NodeID].Meta["rack"]] = true
				}
				if len(racks) != 2 || m.NodesFiltered != 4 {
					t.Errorf("racks = %v, metric = %+v", racks, m)
				}
			},
		},
		{
			name:  "datacenter filtering with globs",
			nodes: append(makeNodes(2, nodeSpec{datacenter: "eu-1"}), makeNodes(3, nodeSpec{datacenter: "us-1"})...),
			job: func() *api.Job {
				j := testJob("dc", "service", 6)
				j.Datacenters = []string{"us-*"}
				return j
			},
			placed: 6,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				for _, a := range placed {
					if dc := h.state.nodes[a.NodeID].Datacenter; dc != "us-1" {
						t.Errorf("alloc %s placed in %s", a.Name, dc)
					}
				}
			},
		},
		{
			name:  "no node in datacenter",
			nodes: makeNodes(2, nodeSpec{}),
			job: func() *api.Job {
				j := testJob("nodc", "service", 1)
				j.Datacenters = []string{"dc9"}
				return j
			},
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, _ []*api.Allocation, m *api.AllocationMetric) {
				if m.NodesEvaluated != 0 || m.NodesAvailable["dc9"] != 0 || len(m.NodesAvailable) != 1 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name:   "driver missing",
			nodes:  makeNodes(2, nodeSpec{drivers: []string{"exec"}}),
			job:    func() *api.Job { return testJob("drv", "batch", 1) },
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, _ []*api.Allocation, m *api.AllocationMetric) {
				if m.ConstraintFiltered[filterMissingDrivers] != 2 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name: "bridge mode only on nodes that offer it",
			nodes: func() []*api.Node {
				ns := makeNodes(3, nodeSpec{})
				ns[2].Attributes[structs.NodeAttrNetworkBridge] = "1"
				return ns
			}(),
			job: func() *api.Job {
				j := testJob("bridged", "service", 1)
				j.TaskGroups[0].Networks = []*api.NetworkResource{{Mode: "bridge"}}
				return j
			},
			placed: 1,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				if placed[0].NodeID != h.state.nodes["00000002-0000-4000-8000-000000000002"].ID {
					t.Errorf("placed on %s, want the node with network.bridge", placed[0].NodeID)
				}
			},
		},
		{
			name:  "no node offers the network mode",
			nodes: makeNodes(2, nodeSpec{}),
			job: func() *api.Job {
				j := testJob("isolated", "service", 1)
				j.TaskGroups[0].Networks = []*api.NetworkResource{{Mode: "none"}}
				return j
			},
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, _ []*api.Allocation, m *api.AllocationMetric) {
				if m.ConstraintFiltered[`missing network mode "none"`] != 2 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
		{
			name: "ineligible and down nodes are not candidates",
			nodes: func() []*api.Node {
				ns := makeNodes(3, nodeSpec{})
				ns[0].SchedulingEligibility = structs.NodeSchedulingIneligible
				ns[1].Status = structs.NodeStatusDown
				return ns
			}(),
			job:    func() *api.Job { return testJob("elig", "service", 2) },
			placed: 2,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				if nodesOf(placed) != 1 || placed[0].NodeID != h.state.nodes["00000002-0000-4000-8000-000000000002"].ID {
					t.Errorf("placed on unexpected nodes")
				}
			},
		},
		{
			name:  "spread targets",
			nodes: makeNodes(4, nodeSpec{}),
			job: func() *api.Job {
				j := testJob("spread", "service", 4)
				j.TaskGroups[0].Spreads = []*api.Spread{{Attribute: "${meta.rack}", Weight: new(int8(100)),
					SpreadTarget: []*api.SpreadTarget{{Value: "r0", Percent: 75}, {Value: "r1", Percent: 25}}}}
				return j
			},
			placed: 4,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				racks := map[string]int{}
				for _, a := range placed {
					racks[h.state.nodes[a.NodeID].Meta["rack"]]++
				}
				if racks["r0"] != 3 || racks["r1"] != 1 {
					t.Errorf("racks = %v, want r0:3 r1:1", racks)
				}
			},
		},
		{
			name:  "even spread over datacenters",
			nodes: append(makeNodes(3, nodeSpec{datacenter: "dc1"}), makeNodes(1, nodeSpec{datacenter: "dc2"})...),
			job: func() *api.Job {
				j := testJob("even", "service", 4)
				j.Datacenters = []string{"dc1", "dc2"}
				j.Spreads = []*api.Spread{{Attribute: "${node.datacenter}", Weight: new(int8(100))}}
				return j
			},
			placed: 4,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				dcs := map[string]int{}
				for _, a := range placed {
					dcs[h.state.nodes[a.NodeID].Datacenter]++
				}
				if dcs["dc1"] != 2 || dcs["dc2"] != 2 {
					t.Errorf("datacenters = %v, want 2 and 2", dcs)
				}
			},
		},
		{
			name: "affinity prefers matching node",
			nodes: func() []*api.Node {
				ns := makeNodes(5, nodeSpec{})
				ns[3].NodeClass = "fast"
				return ns
			}(),
			job: func() *api.Job {
				j := testJob("aff", "service", 1)
				j.Affinities = []*api.Affinity{{LTarget: "${node.class}", Operand: "=", RTarget: "fast", Weight: new(int8(100))}}
				return j
			},
			placed: 1,
			checkFn: func(t *testing.T, h *harness, placed []*api.Allocation, _ *api.AllocationMetric) {
				if h.state.nodes[placed[0].NodeID].NodeClass != "fast" {
					t.Errorf("placed on %s, want the fast node", placed[0].NodeName)
				}
				if s := placed[0].Metrics.ScoreMetaData; len(s) != maxRetainedScores || s[0].Scores[scoreNodeAffinity] != 1 {
					t.Errorf("score metadata = %+v", s)
				}
			},
		},
		{
			name:  "reserved cores",
			nodes: makeNodes(1, nodeSpec{}),
			job: func() *api.Job {
				j := testJob("cores", "service", 3)
				j.TaskGroups[0].Tasks[0].Resources = &api.Resources{Cores: new(2), MemoryMB: new(256)}
				return j
			},
			placed: 2,
			failed: 1,
			checkFn: func(t *testing.T, _ *harness, placed []*api.Allocation, m *api.AllocationMetric) {
				got := slices.Concat(placed[0].AllocatedResources.Tasks["server"].Cpu.ReservedCores,
					placed[1].AllocatedResources.Tasks["server"].Cpu.ReservedCores)
				slices.Sort(got)
				if !slices.Equal(got, []uint16{0, 1, 2, 3}) || placed[0].AllocatedResources.Tasks["server"].Cpu.CpuShares != 2000 {
					t.Errorf("cores = %v", got)
				}
				if len(m.DimensionExhausted) != 1 {
					t.Errorf("metric = %+v", m)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(tc.nodes...)
			job := tc.job()
			h.runJob(job)
			eval := h.lastEval()
			placed := planAllocs(h.lastPlan())
			if len(placed) != tc.placed {
				t.Fatalf("placed %d allocs, want %d", len(placed), tc.placed)
			}
			if eval.Status != structs.EvalStatusComplete {
				t.Errorf("eval status = %q", eval.Status)
			}
			var metric *api.AllocationMetric
			if tc.failed == 0 {
				if len(eval.FailedTGAllocs) != 0 || len(h.created) != 0 {
					t.Errorf("unexpected failures %+v", eval.FailedTGAllocs["web"])
				}
			} else {
				metric = eval.FailedTGAllocs["web"]
				if metric == nil || metric.CoalescedFailures != tc.failed-1 || eval.QueuedAllocations["web"] != tc.failed {
					t.Fatalf("failed metric = %+v, queued %v; want %d failures", metric, eval.QueuedAllocations, tc.failed)
				}
				if len(h.created) != 1 || eval.BlockedEval != h.created[0].ID || h.created[0].Status != structs.EvalStatusBlocked {
					t.Errorf("blocked eval not created: %+v", h.created)
				}
			}
			if tc.checkFn != nil {
				tc.checkFn(t, h, placed, metric)
			}
		})
	}
}

func withConstraint(job *api.Job, l, op, r string) *api.Job {
	job.Constraints = append(job.Constraints, &api.Constraint{LTarget: l, Operand: op, RTarget: r})
	return job
}

func nodesOf(allocs []*api.Allocation) int {
	nodes := map[string]bool{}
	for _, a := range allocs {
		nodes[a.NodeID] = true
	}
	return len(nodes)
}
