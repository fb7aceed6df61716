package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestTaskEventsShown checks that every answer carrying an allocation's
// task states carries its tasks' events as its client reported them
// (the store keeps them encoded): the allocation, the lists of the API
// and the client's fetches.
func TestTaskEventsShown(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := testServer(t, logger)
	a := &Agent{config: DefaultConfig(), logger: logger, server: srv}
	ts := httptest.NewServer(a.routes())
	t.Cleanup(ts.Close)
	const nodeID = "8d2b5a7e-0000-4000-8000-00000000000e"
	node := &api.Node{ID: nodeID, Name: "n", Datacenter: "dc1", Status: structs.NodeStatusReady,
		NodePool: "default", SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: map[string]string{"kernel.name": "linux", "driver.raw_exec": "1"},
		Drivers:    map[string]*api.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodeResources: &api.NodeResources{Cpu: api.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 4},
			Memory: api.NodeMemoryResources{MemoryMB: 4096}, Disk: api.NodeDiskResources{DiskMB: 10000}}}
	if _, err := srv.RegisterNode(node); err != nil {
		t.Fatal(err)
	}
	job := api.NewServiceJob("web", "web", "global", 50)
	job.AddTaskGroup(api.NewTaskGroup("g", 1).AddTask(api.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
	job.Canonicalize()
	reg, err := srv.RegisterJob(&structs.JobRegisterArgs{Job: job})
	if err != nil {
		t.Fatal(err)
	}
	var alloc *api.Allocation
	waitFor(t, 15*time.Second, "placement", func() bool {
		allocs, _ := srv.State().Snapshot().AllocsByJob("default", "web")
		if len(allocs) == 1 {
			alloc = allocs[0]
		}
		return alloc != nil
	})
	started := time.Date(2026, 3, 4, 5, 6, 9, 123456789, time.UTC)
	states := map[string]*api.TaskState{"t": {State: "running", StartedAt: started, Events: []*api.TaskEvent{
		{Type: api.TaskReceived, Time: started.UnixNano(), DisplayMessage: "Task received by client", Details: map[string]string{}},
		{Type: api.TaskSetup, Time: started.UnixNano() + 1e6, DisplayMessage: "Building Task Directory", Message: "Building Task Directory", Details: map[string]string{}},
		{Type: api.TaskStarted, Time: started.UnixNano() + 2e8, DisplayMessage: "Task started by client", Details: map[string]string{"pid": "4242"}},
	}}}
	want, err := json.Marshal(states)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.UpdateAllocations([]*api.Allocation{{ID: alloc.ID, NodeID: nodeID, ClientStatus: "running", TaskStates: states}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the client's report", func() bool {
		a, _ := srv.State().Snapshot().AllocByID(alloc.ID)
		return a != nil && a.ClientStatus == "running"
	})
	// withStates is an answer's allocation (or list stub), its task
	// states as written.
	type withStates struct{ TaskStates json.RawMessage }
	fromHTTP := func(path string, list bool) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			resp, err := http.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			var one withStates
			if list {
				var all []withStates
				if err := json.Unmarshal(body, &all); err != nil || len(all) != 1 {
					t.Fatalf("GET %s: %d allocations (%v) in %s", path, len(all), err, body)
				}
				one = all[0]
			} else if err := json.Unmarshal(body, &one); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			return one.TaskStates
		}
	}
	fromServer := func(read func() ([]*api.Allocation, error)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			allocs, err := read()
			if err != nil || len(allocs) != 1 {
				t.Fatalf("%d allocations, %v", len(allocs), err)
			}
			raw, err := json.Marshal(allocs[0].TaskStates)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
	}
	cases := []struct {
		name string
		read func(t *testing.T) []byte
	}{
		{"the allocation", fromHTTP("/v1/allocation/"+alloc.ID, false)},
		{"the allocations", fromHTTP("/v1/allocations", true)},
		{"the job's allocations", fromHTTP("/v1/job/web/allocations", true)},
		{"the evaluation's allocations", fromHTTP("/v1/evaluation/"+reg.EvalID+"/allocations", true)},
		{"the node's allocations", fromHTTP("/v1/node/"+nodeID+"/allocations", true)},
		{"the client's fetch", fromServer(func() ([]*api.Allocation, error) { return srv.AllocsByIDs([]string{alloc.ID}) })},
		{"Node.GetAllocs", fromServer(func() ([]*api.Allocation, error) {
			allocs, _, err := srv.NodeAllocations(context.Background(), nodeID, 0, time.Second)
			return allocs, err
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := json.Compact(&got, tc.read(t)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("task states\n got %s\nwant %s", got.Bytes(), want)
			}
		})
	}
}
