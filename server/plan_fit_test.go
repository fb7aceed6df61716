package server

import (
	"fmt"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// fitAlloc is an allocation of job web on n1 holding memoryMB and, when
// port is not 0, a static port.
func fitAlloc(id string, memoryMB int64, port int) *api.Allocation {
	a := &api.Allocation{ID: id, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		AllocatedResources: &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{
			"server": {Cpu: api.AllocatedCpuResources{CpuShares: 100}, Memory: api.AllocatedMemoryResources{MemoryMB: memoryMB}},
		}}}
	if port != 0 {
		a.AllocatedResources.Shared.Ports = []api.PortMapping{{Label: "http", Value: port}}
	}
	return a
}

// TestNodeFitsCountsStoredUsageAndPlan checks the plan applier's fit
// check, which starts from the node's stored usage, against cases and
// against structs.AllocsFit over the node's allocations as the plan would
// leave them.
func TestNodeFitsCountsStoredUsageAndPlan(t *testing.T) {
	stopped := func(a *api.Allocation) *api.Allocation {
		a.DesiredStatus = structs.AllocDesiredStatusStop
		return a
	}
	cases := []struct {
		name string
		// down marks the node down.
		down bool
		// inFlight is an accepted plan result not yet in the snapshot.
		inFlight []*api.Allocation
		stops    []*api.Allocation
		placed   []*api.Allocation
		want     bool
	}{
		{name: "fits next to what runs", placed: []*api.Allocation{fitAlloc("p1", 300, 0)}, want: true},
		{name: "memory exhausted", placed: []*api.Allocation{fitAlloc("p1", 700, 0)}},
		{name: "a stop frees room", stops: []*api.Allocation{stopped(fitAlloc("a1", 400, 8080))}, placed: []*api.Allocation{fitAlloc("p1", 700, 0)}, want: true},
		{name: "in-place update of a held allocation", placed: []*api.Allocation{fitAlloc("a1", 600, 8080)}, want: true},
		{name: "in-place update on a down node", down: true, placed: []*api.Allocation{fitAlloc("a1", 400, 8080)}, want: true},
		{name: "new placement on a down node", down: true, placed: []*api.Allocation{fitAlloc("p1", 10, 0)}},
		{name: "port held by a stored allocation", placed: []*api.Allocation{fitAlloc("p1", 10, 8080)}},
		{name: "port freed by a stop", stops: []*api.Allocation{stopped(fitAlloc("a1", 400, 8080))}, placed: []*api.Allocation{fitAlloc("p1", 10, 8080)}, want: true},
		{name: "port taken twice by the plan", placed: []*api.Allocation{fitAlloc("p1", 10, 9000), fitAlloc("p2", 10, 9000)}},
		{name: "reserved port", placed: []*api.Allocation{fitAlloc("p1", 10, 22)}},
		{name: "room taken by an in-flight plan", inFlight: []*api.Allocation{fitAlloc("f1", 300, 0)}, placed: []*api.Allocation{fitAlloc("p1", 400, 0)}},
		{name: "room freed by an in-flight stop", inFlight: []*api.Allocation{stopped(fitAlloc("a1", 400, 8080))}, placed: []*api.Allocation{fitAlloc("p1", 700, 8080)}, want: true},
		{name: "client-terminal allocation holds nothing", placed: []*api.Allocation{fitAlloc("p1", 10, 8081)}, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, err := state.New()
			if err != nil {
				t.Fatal(err)
			}
			node := testNode("n1", 1000)
			node.ReservedResources = &api.NodeReservedResources{Networks: api.NodeReservedNetworkResources{ReservedHostPorts: "22"}}
			if tc.down {
				node.Status = structs.NodeStatusDown
			}
			if err := store.NodeRegister(2, &structs.NodeRegisterRequest{Node: node}); err != nil {
				t.Fatal(err)
			}
			job := testJob("web", 3, 64)
			if err := store.JobRegister(3, &structs.JobRegisterRequest{Job: job}); err != nil {
				t.Fatal(err)
			}
			done := fitAlloc("a2", 900, 8081)
			done.ClientStatus = structs.AllocClientStatusComplete
			if err := store.ApplyPlanResults(4, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*api.Allocation{fitAlloc("a1", 400, 8080), done}}); err != nil {
				t.Fatal(err)
			}
			snap := store.Snapshot()
			view := newPlanView(snap)
			view.add(&structs.PlanResult{NodeAllocation: map[string][]*api.Allocation{"n1": tc.inFlight}})
			plan := &structs.Plan{Job: job, NodeAllocation: map[string][]*api.Allocation{"n1": tc.placed}}
			if len(tc.stops) > 0 {
				plan.NodeUpdate = map[string][]*api.Allocation{"n1": tc.stops}
			}
			got, err := nodeFits(view, plan, "n1", tc.placed)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("fits = %v, want %v", got, tc.want)
			}
			if oracle := allocsFitAfter(t, snap, node, tc.inFlight, tc.stops, tc.placed); oracle != got && !tc.down {
				t.Errorf("fits = %v, AllocsFit over the resulting allocations = %v", got, oracle)
			}
		})
	}
}

// allocsFitAfter is structs.AllocsFit over the node's allocations as the
// in-flight result and the plan leave them.
func allocsFitAfter(t *testing.T, snap *state.Snapshot, node *api.Node, inFlight, stops, placed []*api.Allocation) bool {
	stored, err := snap.AllocsByNode(node.ID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*api.Allocation{}
	for _, list := range [][]*api.Allocation{stored, inFlight, stops, placed} {
		for _, a := range list {
			byID[a.ID] = a
		}
	}
	var all []*api.Allocation
	for _, a := range byID {
		all = append(all, a)
	}
	fit, _, _, err := structs.AllocsFit(node, all)
	if err != nil {
		t.Fatal(fmt.Errorf("AllocsFit: %w", err))
	}
	return fit
}
