package structs

import (
	"slices"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func testNode() *api.Node {
	return &api.Node{
		ID: "n1",
		NodeResources: &api.NodeResources{
			Cpu:    api.NodeCpuResources{CpuShares: 2000, TotalCpuCores: 2, ReservableCpuCores: []uint16{0, 1}},
			Memory: api.NodeMemoryResources{MemoryMB: 2048},
			Disk:   api.NodeDiskResources{DiskMB: 1000},
		},
		ReservedResources: &api.NodeReservedResources{
			Cpu:      api.NodeReservedCpuResources{CpuShares: 100},
			Memory:   api.NodeReservedMemoryResources{MemoryMB: 48},
			Networks: api.NodeReservedNetworkResources{ReservedHostPorts: "22,100-102"},
		},
	}
}

func testAlloc(cpu, mem, disk int64, ports ...int) *api.Allocation {
	a := &api.Allocation{
		DesiredStatus: AllocDesiredStatusRun,
		ClientStatus:  AllocClientStatusRunning,
		AllocatedResources: &api.AllocatedResources{
			Tasks: map[string]*api.AllocatedTaskResources{
				"t": {Cpu: api.AllocatedCpuResources{CpuShares: cpu}, Memory: api.AllocatedMemoryResources{MemoryMB: mem}},
			},
			Shared: api.AllocatedSharedResources{DiskMB: disk},
		},
	}
	for _, p := range ports {
		a.AllocatedResources.Shared.Ports = append(a.AllocatedResources.Shared.Ports, api.PortMapping{Label: "p", Value: p})
	}
	return a
}

func sharedPort() *api.Allocation {
	a := testAlloc(10, 10, 10, 9100)
	a.AllocatedResources.Shared.Networks = []*api.NetworkResource{{ReservedPorts: []api.Port{{Label: "m", Value: 9100, IgnoreCollision: true}}}}
	return a
}

func TestAllocsFit(t *testing.T) {
	stopped := testAlloc(5000, 5000, 5000)
	stopped.DesiredStatus = AllocDesiredStatusStop
	complete := testAlloc(5000, 5000, 5000)
	complete.ClientStatus = AllocClientStatusComplete
	withCores := func(cores ...uint16) *api.Allocation {
		a := testAlloc(100, 100, 10)
		a.AllocatedResources.Tasks["t"].Cpu.ReservedCores = cores
		return a
	}
	cases := []struct {
		name      string
		allocs    []*api.Allocation
		fit       bool
		dimension string
		usedCPU   int64
	}{
		{"empty", nil, true, "", 0},
		{"fits exactly", []*api.Allocation{testAlloc(1000, 1000, 500), testAlloc(900, 1000, 500)}, true, "", 1900},
		{"cpu over reserved capacity", []*api.Allocation{testAlloc(1901, 10, 10)}, false, DimensionCPU, 1901},
		{"memory", []*api.Allocation{testAlloc(10, 2001, 10)}, false, DimensionMemory, 10},
		{"disk", []*api.Allocation{testAlloc(10, 10, 1001)}, false, DimensionDisk, 10},
		{"terminal allocs ignored", []*api.Allocation{stopped, complete, testAlloc(10, 10, 10)}, true, "", 10},
		{"port collision", []*api.Allocation{testAlloc(10, 10, 10, 8080), testAlloc(10, 10, 10, 8080)}, false, DimensionPortCollision, 20},
		{"reserved port", []*api.Allocation{testAlloc(10, 10, 10, 101)}, false, DimensionReservedPortCollide, 10},
		{"shared port that ignores collisions", []*api.Allocation{sharedPort(), sharedPort()}, true, "", 20},
		{"distinct ports", []*api.Allocation{testAlloc(10, 10, 10, 8080), testAlloc(10, 10, 10, 8081)}, true, "", 20},
		{"cores shared", []*api.Allocation{withCores(0), withCores(0)}, false, DimensionCores, 200},
		{"core not reservable", []*api.Allocation{withCores(7)}, false, DimensionCores, 100},
		{"cores distinct", []*api.Allocation{withCores(0), withCores(1)}, true, "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fit, dim, used, err := AllocsFit(testNode(), tc.allocs)
			if err != nil {
				t.Fatal(err)
			}
			if fit != tc.fit || dim != tc.dimension || used.CPUShares != tc.usedCPU {
				t.Errorf("AllocsFit = %v %q cpu %d, want %v %q cpu %d", fit, dim, used.CPUShares, tc.fit, tc.dimension, tc.usedCPU)
			}
		})
	}
}

func TestAllocsFitBadReservedPorts(t *testing.T) {
	n := testNode()
	n.ReservedResources.Networks.ReservedHostPorts = "80-x"
	if _, _, _, err := AllocsFit(n, nil); err == nil {
		t.Error("want an error for a bad reserved port list")
	}
}

func TestParsePortRanges(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{"empty", "", nil, false},
		{"list and range", "22, 80,8000-8002", []int{22, 80, 8000, 8001, 8002}, false},
		{"reversed range", "90-80", nil, true},
		{"not a number", "http", nil, true},
		{"too large", "70000", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePortRanges(tc.in)
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Errorf("ParsePortRanges(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}

func TestAllocResourcesFromDeprecatedFields(t *testing.T) {
	cpu, mem, disk := 250, 128, 50
	a := &api.Allocation{Resources: &api.Resources{
		CPU: &cpu, MemoryMB: &mem, DiskMB: &disk,
		Networks: []*api.NetworkResource{{ReservedPorts: []api.Port{{Label: "http", Value: 80}}, DynamicPorts: []api.Port{{Label: "x", Value: 20001}}}},
	}}
	r := AllocResources(a)
	if r.CPUShares != 250 || r.MemoryMB != 128 || r.DiskMB != 50 || !slices.Equal(r.Ports, []int{80, 20001}) {
		t.Errorf("AllocResources = %+v", r)
	}
}

func TestAllocTerminalAndNodeReady(t *testing.T) {
	cases := []struct {
		name     string
		desired  string
		client   string
		terminal bool
	}{
		{"running", AllocDesiredStatusRun, AllocClientStatusRunning, false},
		{"pending", AllocDesiredStatusRun, AllocClientStatusPending, false},
		{"stop desired", AllocDesiredStatusStop, AllocClientStatusRunning, true},
		{"evicted", AllocDesiredStatusEvict, AllocClientStatusRunning, true},
		{"complete", AllocDesiredStatusRun, AllocClientStatusComplete, true},
		{"failed", AllocDesiredStatusRun, AllocClientStatusFailed, true},
		{"lost", AllocDesiredStatusRun, AllocClientStatusLost, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &api.Allocation{DesiredStatus: tc.desired, ClientStatus: tc.client}
			if got := AllocTerminal(a); got != tc.terminal {
				t.Errorf("AllocTerminal = %v", got)
			}
		})
	}
	ready := &api.Node{Status: NodeStatusReady, SchedulingEligibility: NodeSchedulingEligible}
	draining := &api.Node{Status: NodeStatusReady, SchedulingEligibility: NodeSchedulingEligible, DrainStrategy: &api.DrainStrategy{}}
	down := &api.Node{Status: NodeStatusDown, SchedulingEligibility: NodeSchedulingEligible}
	if !NodeReady(ready) || NodeReady(draining) || NodeReady(down) {
		t.Error("NodeReady disagrees")
	}
}
