package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// withGPUs gives node a group of n NVIDIA GPUs of the model, the first
// unhealthy ones unhealthy.
func withGPUs(node *api.Node, model string, memoryMiB int64, n, unhealthy int) *api.Node {
	g := &api.NodeDeviceResource{Vendor: "nvidia", Type: "gpu", Name: model,
		Attributes: map[string]*api.Attribute{"memory": {IntVal: &memoryMiB, Unit: "MiB"}}}
	for i := range n {
		g.Instances = append(g.Instances, &api.NodeDevice{ID: fmt.Sprintf("GPU-%s-%s-%d", node.Name, model, i), Healthy: i >= unhealthy})
	}
	node.NodeResources.Devices = append(node.NodeResources.Devices, g)
	return node
}

// gpuJob asks for count allocations each wanting the device.
func gpuJob(id string, count int, dev *api.RequestedDevice) *api.Job {
	job := testJob(id, "service", count)
	job.TaskGroups[0].Tasks[0].Resources.Devices = []*api.RequestedDevice{dev}
	return job
}

func gpuAsk(name string, count uint64) *api.RequestedDevice {
	return &api.RequestedDevice{Name: name, Count: &count}
}

func TestDevicePlacement(t *testing.T) {
	const h100, t4 = "H100 80GB HBM3", "Tesla T4"
	cases := []struct {
		name   string
		nodes  func() []*api.Node
		jobs   []*api.Job
		placed int
		// failure is the reason named for the last job's failed placements.
		failure string
		check   func(t *testing.T, placed []*api.Allocation, nodes []*api.Node)
	}{
		{
			name:   "vendor/type",
			nodes:  func() []*api.Node { return []*api.Node{withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 2, 0)} },
			jobs:   []*api.Job{gpuJob("train", 1, gpuAsk("nvidia/gpu", 2))},
			placed: 1,
			check: func(t *testing.T, placed []*api.Allocation, _ []*api.Node) {
				d := placed[0].AllocatedResources.Tasks["server"].Devices
				if len(d) != 1 || d[0].Vendor != "nvidia" || d[0].Name != h100 || len(d[0].DeviceIDs) != 2 {
					t.Fatalf("devices = %+v", d)
				}
			},
		},
		{
			name:   "type only",
			nodes:  func() []*api.Node { return []*api.Node{withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 1, 0)} },
			jobs:   []*api.Job{gpuJob("train", 1, gpuAsk("gpu", 1))},
			placed: 1,
		},
		{
			name:   "full name",
			nodes:  func() []*api.Node { return []*api.Node{withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 1, 0)} },
			jobs:   []*api.Job{gpuJob("train", 1, gpuAsk("nvidia/gpu/"+h100, 1))},
			placed: 1,
		},
		{
			name:    "other model is missing",
			nodes:   func() []*api.Node { return []*api.Node{withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 1, 0)} },
			jobs:    []*api.Job{gpuJob("train", 1, gpuAsk("nvidia/gpu/"+t4, 1))},
			failure: filterMissingDevices,
		},
		{
			name: "memory constraint picks the large GPU",
			nodes: func() []*api.Node {
				n := makeNodes(2, nodeSpec{})
				return []*api.Node{withGPUs(n[0], t4, 15360, 4, 0), withGPUs(n[1], h100, 81559, 1, 0)}
			},
			jobs: []*api.Job{gpuJob("train", 1, &api.RequestedDevice{Name: "nvidia/gpu", Count: new(uint64(1)),
				Constraints: []*api.Constraint{{LTarget: "${device.attr.memory}", Operand: ">=", RTarget: "40 GiB"}}})},
			placed: 1,
			check: func(t *testing.T, placed []*api.Allocation, nodes []*api.Node) {
				if placed[0].NodeID != nodes[1].ID {
					t.Fatalf("placed on %s, want the H100 node", placed[0].NodeName)
				}
			},
		},
		{
			name: "affinity prefers a model",
			nodes: func() []*api.Node {
				n := withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 1, 0)
				return []*api.Node{withGPUs(n, t4, 15360, 1, 0)}
			},
			jobs: []*api.Job{gpuJob("infer", 1, &api.RequestedDevice{Name: "gpu", Count: new(uint64(1)),
				Affinities: []*api.Affinity{{LTarget: "${device.model}", Operand: "=", RTarget: t4, Weight: new(int8(100))}}})},
			placed: 1,
			check: func(t *testing.T, placed []*api.Allocation, _ []*api.Node) {
				if d := placed[0].AllocatedResources.Tasks["server"].Devices[0]; d.Name != t4 {
					t.Fatalf("picked %s, want the T4", d.Name)
				}
			},
		},
		{
			name:    "unhealthy instances are not handed out",
			nodes:   func() []*api.Node { return []*api.Node{withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 2, 1)} },
			jobs:    []*api.Job{gpuJob("train", 1, gpuAsk("nvidia/gpu", 2))},
			failure: filterMissingDevices,
		},
		{
			name:    "instances are exclusive within an evaluation",
			nodes:   func() []*api.Node { return []*api.Node{withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 3, 0)} },
			jobs:    []*api.Job{gpuJob("train", 2, gpuAsk("nvidia/gpu", 2))},
			placed:  1,
			failure: "devices: nvidia/gpu",
		},
		{
			name:    "instances are exclusive across jobs",
			nodes:   func() []*api.Node { return []*api.Node{withGPUs(makeNodes(1, nodeSpec{})[0], h100, 81559, 2, 0)} },
			jobs:    []*api.Job{gpuJob("a", 1, gpuAsk("gpu", 1)), gpuJob("b", 1, gpuAsk("gpu", 1)), gpuJob("c", 1, gpuAsk("gpu", 1))},
			failure: "devices: gpu", // and every held instance distinct, as for every case
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			nodes := tc.nodes()
			h.state.upsertNodes(nodes...)
			var placed []*api.Allocation
			for _, job := range tc.jobs {
				h.runJob(job)
				placed = planAllocs(h.lastPlan())
			}
			if tc.failure == "" && len(placed) != tc.placed {
				t.Fatalf("placed %d, want %d", len(placed), tc.placed)
			}
			held := map[string]string{}
			for _, a := range h.state.allocs {
				for _, key := range structs.AllocResources(a).Devices {
					if other, dup := held[key]; dup {
						t.Fatalf("device %s held by %s and %s", key, other, a.ID)
					}
					held[key] = a.ID
				}
			}
			eval := h.lastEval()
			if tc.failure != "" {
				m := eval.FailedTGAllocs["web"]
				if m == nil || (m.ConstraintFiltered[tc.failure] == 0 && m.DimensionExhausted[tc.failure] == 0) {
					t.Fatalf("failure metric = %+v, want %q named", m, tc.failure)
				}
			} else if len(eval.FailedTGAllocs) != 0 {
				t.Fatalf("unexpected failure %+v", eval.FailedTGAllocs["web"])
			}
			if tc.check != nil {
				tc.check(t, placed, nodes)
			}
		})
	}
}

func TestAllocsFitDevices(t *testing.T) {
	node := withGPUs(makeNodes(1, nodeSpec{})[0], "T4", 15360, 2, 0)
	alloc := func(ids ...string) *api.Allocation {
		return &api.Allocation{DesiredStatus: "run", AllocatedResources: &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{
			"t": {Devices: []*api.AllocatedDeviceResource{{Vendor: "nvidia", Type: "gpu", Name: "T4", DeviceIDs: ids}}}}}}
	}
	id0, id1 := node.NodeResources.Devices[0].Instances[0].ID, node.NodeResources.Devices[0].Instances[1].ID
	cases := []struct {
		name   string
		allocs []*api.Allocation
		fit    bool
	}{
		{"distinct", []*api.Allocation{alloc(id0), alloc(id1)}, true},
		{"shared", []*api.Allocation{alloc(id0), alloc(id0)}, false},
		{"unknown instance", []*api.Allocation{alloc("GPU-gone")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fit, dim, _, err := structs.AllocsFit(node, tc.allocs)
			if err != nil || fit != tc.fit || (!fit && dim != structs.DimensionDevices) {
				t.Fatalf("AllocsFit = %v, %q, %v; want fit %v", fit, dim, err, tc.fit)
			}
		})
	}
}

func TestHostVolumePlacement(t *testing.T) {
	withVolume := func(n *api.Node, name string, readOnly bool) *api.Node {
		n.HostVolumes = map[string]*api.HostVolumeInfo{name: {Path: "/srv/" + name, ReadOnly: readOnly}}
		return n
	}
	volumeJob := func(source string, readOnly bool) *api.Job {
		job := testJob("db", "service", 1)
		job.TaskGroups[0].Volumes = map[string]*api.VolumeRequest{"data": {Name: "data", Type: "host", Source: source, ReadOnly: readOnly}}
		return job
	}
	cases := []struct {
		name     string
		job      *api.Job
		wantNode int // index of the node that must get the alloc; -1: none
	}{
		{"only the node with the volume", volumeJob("pg", false), 1},
		{"read-only volume refused for writing", volumeJob("certs", false), -1},
		{"read-only volume for reading", volumeJob("certs", true), 2},
		{"no node has it", volumeJob("nope", true), -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := makeNodes(3, nodeSpec{})
			nodes := []*api.Node{n[0], withVolume(n[1], "pg", false), withVolume(n[2], "certs", true)}
			h := newHarness(t)
			h.state.upsertNodes(nodes...)
			h.runJob(tc.job)
			placed := planAllocs(h.lastPlan())
			if tc.wantNode < 0 {
				m := h.lastEval().FailedTGAllocs["web"]
				if len(placed) != 0 || m == nil || m.ConstraintFiltered[filterHostVolumes] != 3 {
					t.Fatalf("placed %d, metric %+v; want the volume named", len(placed), m)
				}
				return
			}
			if len(placed) != 1 || placed[0].NodeID != nodes[tc.wantNode].ID {
				t.Fatalf("placed %+v, want on node %d", placed, tc.wantNode)
			}
		})
	}
}

// BenchmarkGPUPlacement places a batch job of 400 allocations, each asking
// for one GPU of at least 40 GiB, on 100 nodes of 8 GPUs (half of them
// too small), and reports placements per second.
func BenchmarkGPUPlacement(b *testing.B) {
	const count = 400
	state := newMemState()
	nodes := makeNodes(100, nodeSpec{cpu: 64000, memoryMB: 512 * 1024})
	for i, n := range nodes {
		if i%2 == 0 {
			withGPUs(n, "H100 80GB HBM3", 81559, 8, 0)
		} else {
			withGPUs(n, "Tesla T4", 15360, 8, 0)
		}
	}
	state.upsertNodes(nodes...)
	job := gpuJob("train", count, &api.RequestedDevice{Name: "nvidia/gpu", Count: new(uint64(1)),
		Constraints: []*api.Constraint{{LTarget: "${device.attr.memory}", Operand: ">=", RTarget: "40 GiB"}}})
	*job.Type = "batch"
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
