package state

import (
	"bytes"
	"maps"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// usageAlloc is an allocation of job "web" on node holding cpu shares,
// 100 MB of memory, 10 MB of disk, a port and a reserved core.
func usageAlloc(id, node string, cpu int64, port int, core uint16) *api.Allocation {
	return &api.Allocation{ID: id, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: node,
		DesiredStatus: "run", ClientStatus: "pending",
		AllocatedResources: &api.AllocatedResources{
			Tasks: map[string]*api.AllocatedTaskResources{"t": {
				Cpu:    api.AllocatedCpuResources{CpuShares: cpu, ReservedCores: []uint16{core}},
				Memory: api.AllocatedMemoryResources{MemoryMB: 100},
			}},
			Shared: api.AllocatedSharedResources{DiskMB: 10, Ports: []api.PortMapping{{Label: "http", Value: port}}},
		}}
}

func sameNodeUsage(a, b *structs.NodeUsage) bool {
	if a == nil {
		a = &structs.NodeUsage{}
	}
	if b == nil {
		b = &structs.NodeUsage{}
	}
	return a.Allocs == b.Allocs && a.CPUShares == b.CPUShares && a.MemoryMB == b.MemoryMB && a.DiskMB == b.DiskMB &&
		maps.Equal(a.Ports, b.Ports) && maps.Equal(a.Cores, b.Cores) && maps.Equal(a.Devices, b.Devices)
}

// TestNodeUsageFollowsAllocs checks that the stored usage of each node is
// the sum of its non-terminal allocations after each kind of write, and
// after a snapshot restore.
func TestNodeUsageFollowsAllocs(t *testing.T) {
	job := testJob("web", 3)
	plan := func(allocs, stopped []*api.Allocation) func(*Store, uint64) error {
		return func(s *Store, i uint64) error {
			return s.ApplyPlanResults(i, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs, Stopped: stopped, Time: 2})
		}
	}
	client := func(id, status string) func(*Store, uint64) error {
		return func(s *Store, i uint64) error {
			u := &api.Allocation{ID: id, ClientStatus: status}
			return s.AllocClientUpdate(i, &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{u}, Time: 3})
		}
	}
	stop := func(id, node string) *api.Allocation {
		a := usageAlloc(id, node, 250, 0, 0)
		a.DesiredStatus = structs.AllocDesiredStatusStop
		return a
	}
	gc := func(req *structs.GCRequest) func(*Store, uint64) error {
		return func(s *Store, i uint64) error { return s.GC(i, req) }
	}
	cases := []struct {
		name  string
		steps []func(*Store, uint64) error
		// want is how many allocations count on each node.
		want    map[string]int
		wantCPU map[string]int64
	}{
		{"placements", nil, map[string]int{"n1": 2, "n2": 1}, map[string]int64{"n1": 500, "n2": 250}},
		{"plan stop", []func(*Store, uint64) error{plan(nil, []*api.Allocation{stop("a1", "n1")})},
			map[string]int{"n1": 1, "n2": 1}, map[string]int64{"n1": 250, "n2": 250}},
		{"client terminal update", []func(*Store, uint64) error{client("a2", "complete")},
			map[string]int{"n1": 1, "n2": 1}, map[string]int64{"n1": 250, "n2": 250}},
		{"client running update keeps usage", []func(*Store, uint64) error{client("a2", "running")},
			map[string]int{"n1": 2, "n2": 1}, map[string]int64{"n1": 500, "n2": 250}},
		{"in-place update changes resources", []func(*Store, uint64) error{plan([]*api.Allocation{usageAlloc("a1", "n1", 700, 8001, 1)}, nil)},
			map[string]int{"n1": 2, "n2": 1}, map[string]int64{"n1": 950, "n2": 250}},
		{"node removal keeps its allocations counted", []func(*Store, uint64) error{gc(&structs.GCRequest{NodeIDs: []string{"n1"}})},
			map[string]int{"n1": 2, "n2": 1}, map[string]int64{"n1": 500, "n2": 250}},
		{"gc of stopped and live allocations", []func(*Store, uint64) error{
			plan(nil, []*api.Allocation{stop("a1", "n1")}),
			gc(&structs.GCRequest{AllocIDs: []string{"a1", "a2"}, NodeIDs: []string{"n1"}}),
		}, map[string]int{"n1": 0, "n2": 1}, map[string]int64{"n1": 0, "n2": 250}},
		{"job purge stops all", []func(*Store, uint64) error{func(s *Store, i uint64) error {
			return s.JobDeregister(i, &structs.JobDeregisterRequest{Namespace: "default", JobID: "web", Purge: true, Time: 4})
		}}, map[string]int{"n1": 0, "n2": 0}, map[string]int64{"n1": 0, "n2": 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"n1", "n2"} {
				if err := s.NodeRegister(11, &structs.NodeRegisterRequest{Node: &api.Node{ID: n, Status: "ready"}, Time: 1}); err != nil {
					t.Fatal(err)
				}
			}
			placed := []*api.Allocation{usageAlloc("a1", "n1", 250, 8000, 0), usageAlloc("a2", "n1", 250, 8001, 1), usageAlloc("a3", "n2", 250, 8000, 0)}
			steps := append([]func(*Store, uint64) error{plan(placed, nil)}, tc.steps...)
			for i, step := range steps {
				if err := step(s, uint64(20+i)); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			var buf bytes.Buffer
			if err := s.Snapshot().Persist(&buf); err != nil {
				t.Fatal(err)
			}
			restored, err := Restore(&buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, store := range []struct {
				name string
				s    *Store
			}{{"live", s}, {"restored", restored}} {
				snap := store.s.Snapshot()
				for node, want := range tc.want {
					got, err := snap.NodeUsage(node)
					if err != nil {
						t.Fatal(err)
					}
					allocs, _ := snap.AllocsByNode(node)
					if sum := structs.NodeUsageOf(allocs); !sameNodeUsage(got, sum) {
						t.Errorf("%s %s: usage %+v, recomputed %+v", store.name, node, got, sum)
					}
					if want == 0 && got != nil {
						t.Errorf("%s %s: usage row %+v kept with no allocation counted", store.name, node, got)
					}
					if n := got.Clone(); n.Allocs != want || n.CPUShares != tc.wantCPU[node] {
						t.Errorf("%s %s: %d allocs, %d cpu; want %d, %d", store.name, node, n.Allocs, n.CPUShares, want, tc.wantCPU[node])
					}
				}
			}
		})
	}
}
