package scheduler

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// memState is a map-backed State for tests.
type memState struct {
	jobs   map[string]*api.Job
	allocs map[string]*api.Allocation
	byNode map[string][]string
	byJob  map[string][]string
	nodes  map[string]*api.Node
	// deployments holds each job's latest deployment.
	deployments map[string]*api.Deployment
}

func newMemState() *memState {
	return &memState{
		jobs:   make(map[string]*api.Job),
		allocs: make(map[string]*api.Allocation),
		byNode: make(map[string][]string),
		byJob:  make(map[string][]string),
		nodes:  make(map[string]*api.Node),

		deployments: make(map[string]*api.Deployment),
	}
}

func jobKey(ns, id string) string { return ns + "/" + id }

func (s *memState) JobByID(ns, id string) (*api.Job, error) { return s.jobs[jobKey(ns, id)], nil }

func (s *memState) AllocsByJob(ns, jobID string) ([]*api.Allocation, error) {
	return s.lookup(s.byJob[jobKey(ns, jobID)]), nil
}

func (s *memState) AllocsByNode(nodeID string) ([]*api.Allocation, error) {
	return s.lookup(s.byNode[nodeID]), nil
}

func (s *memState) NodeUsage(nodeID string) (*structs.NodeUsage, error) {
	return structs.NodeUsageOf(s.lookup(s.byNode[nodeID])), nil
}

func (s *memState) lookup(ids []string) []*api.Allocation {
	out := make([]*api.Allocation, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.allocs[id])
	}
	return out
}

func (s *memState) Nodes() ([]*api.Node, error) {
	out := make([]*api.Node, 0, len(s.nodes))
	for _, n := range s.nodes {
		out = append(out, n)
	}
	return out, nil
}

func (s *memState) NodeByID(id string) (*api.Node, error) { return s.nodes[id], nil }

func (s *memState) AllocByID(id string) (*api.Allocation, error) { return s.allocs[id], nil }

func (s *memState) LatestDeploymentByJob(ns, jobID string) (*api.Deployment, error) {
	return s.deployments[jobKey(ns, jobID)], nil
}

func (s *memState) upsertJob(j *api.Job) {
	s.jobs[jobKey(deref(j.Namespace), deref(j.ID))] = j
}

func (s *memState) deleteJob(j *api.Job) {
	delete(s.jobs, jobKey(deref(j.Namespace), deref(j.ID)))
}

// applyDeployments stores the plan's deployment and status changes.
func (s *memState) applyDeployments(p *structs.Plan) {
	if d := p.Deployment; d != nil {
		s.deployments[jobKey(d.Namespace, d.JobID)] = d
	}
	for _, u := range p.DeploymentUpdates {
		for k, d := range s.deployments {
			if d.ID == u.DeploymentID {
				changed := *d
				changed.Status, changed.StatusDescription = u.Status, u.StatusDescription
				s.deployments[k] = &changed
			}
		}
	}
}

func (s *memState) upsertNodes(nodes ...*api.Node) {
	for _, n := range nodes {
		s.nodes[n.ID] = n
	}
}

func (s *memState) upsertAllocs(allocs ...*api.Allocation) {
	for _, a := range allocs {
		if _, ok := s.allocs[a.ID]; !ok {
			s.byNode[a.NodeID] = append(s.byNode[a.NodeID], a.ID)
			k := jobKey(a.Namespace, a.JobID)
			s.byJob[k] = append(s.byJob[k], a.ID)
		}
		s.allocs[a.ID] = a
	}
}

// harness is a Planner that applies plans to a memState, re-checking each
// node's allocations with structs.AllocsFit as the plan applier does.
type harness struct {
	t         testing.TB
	state     *memState
	plans     []*structs.Plan
	updates   []*api.Evaluation
	created   []*api.Evaluation
	reblocked []*api.Evaluation
	// rejectPlans makes the next that many plans commit nothing.
	rejectPlans int
	existing    map[string]bool
	// annotate runs the scheduler with AnnotatePlan, as `job plan` does.
	annotate bool
	// algorithm is the scheduler configuration's SchedulerAlgorithm.
	algorithm api.SchedulerAlgorithm
	// followup, when set, is the evaluation a test processes next.
	followup *api.Evaluation
}

func newHarness(t testing.TB) *harness {
	return &harness{t: t, state: newMemState(), annotate: true}
}

func (h *harness) SubmitPlan(p *structs.Plan) (*structs.PlanResult, State, error) {
	h.plans = append(h.plans, p)
	result := &structs.PlanResult{AllocIndex: uint64(len(h.plans))}
	if h.rejectPlans > 0 {
		h.rejectPlans--
		result.RefreshIndex = 1
		return result, h.state, nil
	}
	h.state.applyDeployments(p)
	result.NodeUpdate = p.NodeUpdate
	result.NodeAllocation = make(map[string][]*api.Allocation)
	for _, stops := range p.NodeUpdate {
		h.state.upsertAllocs(stops...)
	}
	for nodeID, allocs := range p.NodeAllocation {
		current, _ := h.state.AllocsByNode(nodeID)
		proposed := slices.DeleteFunc(current, func(a *api.Allocation) bool {
			return slices.ContainsFunc(allocs, func(b *api.Allocation) bool { return a.ID == b.ID })
		})
		proposed = append(proposed, allocs...)
		fit, dim, _, err := structs.AllocsFit(h.state.nodes[nodeID], proposed)
		if err != nil {
			return nil, nil, err
		}
		if !fit {
			h.t.Logf("plan rejected on node %s: %s", nodeID, dim)
			result.RefreshIndex = 1
			continue
		}
		h.state.upsertAllocs(allocs...)
		result.NodeAllocation[nodeID] = allocs
	}
	if result.RefreshIndex != 0 {
		return result, h.state, nil
	}
	return result, nil, nil
}

func (h *harness) UpdateEval(e *api.Evaluation) error {
	h.updates = append(h.updates, e)
	return nil
}

func (h *harness) CreateEval(e *api.Evaluation) error {
	h.created = append(h.created, e)
	return nil
}

func (h *harness) ReblockEval(e *api.Evaluation) error {
	h.reblocked = append(h.reblocked, e)
	return nil
}

// process runs a scheduler of the job's type over eval, seeded so that
// each run draws different IDs.
func (h *harness) process(jobType string, eval *api.Evaluation) {
	h.t.Helper()
	s, err := New(jobType, h.state, h, Options{AnnotatePlan: h.annotate, Algorithm: h.algorithm, Rand: rand.New(rand.NewPCG(1, uint64(len(h.plans)+len(h.updates))))})
	if err != nil {
		h.t.Fatalf("new scheduler: %v", err)
	}
	if err := s.Process(eval); err != nil {
		h.t.Fatalf("process: %v", err)
	}
}

// lastEval is the last evaluation update written.
func (h *harness) lastEval() *api.Evaluation {
	h.t.Helper()
	if len(h.updates) == 0 {
		h.t.Fatal("no evaluation update")
	}
	return h.updates[len(h.updates)-1]
}

// lastPlan is the last plan submitted.
func (h *harness) lastPlan() *structs.Plan {
	h.t.Helper()
	if len(h.plans) == 0 {
		h.t.Fatal("no plan submitted")
	}
	return h.plans[len(h.plans)-1]
}

// nodeSpec describes generated nodes.
type nodeSpec struct {
	cpu, memoryMB, diskMB int64
	datacenter, class     string
	pool                  string
	attrs                 map[string]string
	drivers               []string
	reservedPorts         string
	minPort, maxPort      int
}

// makeNodes generates n ready nodes; zero fields of spec take defaults
// (4000 MHz, 8 GiB, dc1, raw_exec, linux).
func makeNodes(n int, spec nodeSpec) []*api.Node {
	spec.cpu = cmpOr(spec.cpu, 4000)
	spec.memoryMB = cmpOr(spec.memoryMB, 8192)
	spec.diskMB = cmpOr(spec.diskMB, 100_000)
	spec.datacenter = cmpOr(spec.datacenter, "dc1")
	if spec.drivers == nil {
		spec.drivers = []string{"raw_exec"}
	}
	nodes := make([]*api.Node, n)
	for i := range nodes {
		id := fmt.Sprintf("%08d-%04x-4000-8000-%012d", i, dcTag(spec.datacenter), i)
		attrs := map[string]string{"kernel.name": "linux", "unique.hostname": fmt.Sprintf("%s-node-%d", spec.datacenter, i)}
		for k, v := range spec.attrs {
			attrs[k] = v
		}
		drivers := make(map[string]*api.DriverInfo)
		for _, d := range spec.drivers {
			drivers[d] = &api.DriverInfo{Detected: true, Healthy: true}
			attrs["driver."+d] = "1"
		}
		nodes[i] = &api.Node{
			ID:                    id,
			Name:                  fmt.Sprintf("%s-node-%d", spec.datacenter, i),
			Datacenter:            spec.datacenter,
			NodeClass:             spec.class,
			NodePool:              spec.pool,
			Attributes:            attrs,
			Meta:                  map[string]string{"rack": fmt.Sprintf("r%d", i%2)},
			Drivers:               drivers,
			Status:                structs.NodeStatusReady,
			SchedulingEligibility: structs.NodeSchedulingEligible,
			NodeResources: &api.NodeResources{
				Cpu:            api.NodeCpuResources{CpuShares: spec.cpu, TotalCpuCores: 4, ReservableCpuCores: []uint16{0, 1, 2, 3}},
				Memory:         api.NodeMemoryResources{MemoryMB: spec.memoryMB},
				Disk:           api.NodeDiskResources{DiskMB: spec.diskMB},
				Networks:       []*api.NetworkResource{{Mode: "host", Device: "eth0", IP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)}},
				MinDynamicPort: spec.minPort,
				MaxDynamicPort: spec.maxPort,
			},
			ReservedResources: &api.NodeReservedResources{
				Networks: api.NodeReservedNetworkResources{ReservedHostPorts: spec.reservedPorts},
			},
		}
	}
	return nodes
}

// dcTag makes node IDs of different datacenters differ; dc1 gives 0.
func dcTag(dc string) uint16 {
	if dc == "dc1" {
		return 0
	}
	return uint16(crc32.ChecksumIEEE([]byte(dc)))
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// testJob is a canonicalized job with one group "web" of count tasks
// "server" (raw_exec, 500 MHz, 256 MB).
func testJob(id, jobType string, count int) *api.Job {
	task := api.NewTask("server", "raw_exec").
		SetConfig("command", "/bin/sleep").
		Require(&api.Resources{CPU: new(500), MemoryMB: new(256)})
	job := api.NewServiceJob(id, id, "global", 50)
	job.Type = &jobType
	job.Datacenters = []string{"dc1"}
	job.AddTaskGroup(api.NewTaskGroup("web", count).AddTask(task))
	job.Canonicalize()
	job.Version = new(uint64(0))
	job.JobModifyIndex = new(uint64(1))
	return job
}

// nextVersion is a copy of job as a new version, changed by change.
func nextVersion(job *api.Job, change func(*api.Job)) *api.Job {
	next := cloneJob(job)
	change(next)
	next.Version = new(deref(job.Version) + 1)
	next.JobModifyIndex = new(deref(job.JobModifyIndex) + 10)
	return next
}

// registerEval is the evaluation a job registration creates.
func registerEval(job *api.Job) *api.Evaluation {
	return &api.Evaluation{
		ID:          fmt.Sprintf("eval-%s-%d", deref(job.ID), deref(job.JobModifyIndex)),
		Namespace:   deref(job.Namespace),
		Priority:    deref(job.Priority),
		Type:        deref(job.Type),
		TriggeredBy: structs.EvalTriggerJobRegister,
		JobID:       deref(job.ID),
		Status:      structs.EvalStatusPending,
	}
}

// planAllocs flattens a plan's placements (new and in place).
func planAllocs(p *structs.Plan) []*api.Allocation {
	var out []*api.Allocation
	for _, allocs := range p.NodeAllocation {
		out = append(out, allocs...)
	}
	slices.SortFunc(out, func(a, b *api.Allocation) int { return allocIndex(a.Name) - allocIndex(b.Name) })
	return out
}

// planStops flattens a plan's stops.
func planStops(p *structs.Plan) []*api.Allocation {
	var out []*api.Allocation
	for _, allocs := range p.NodeUpdate {
		out = append(out, allocs...)
	}
	slices.SortFunc(out, func(a, b *api.Allocation) int { return allocIndex(a.Name) - allocIndex(b.Name) })
	return out
}

// runningAllocs are the job's allocations not stopped, in name order.
func (h *harness) runningAllocs(job *api.Job) []*api.Allocation {
	all, _ := h.state.AllocsByJob(deref(job.Namespace), deref(job.ID))
	out := slices.DeleteFunc(all, structs.AllocTerminal)
	slices.SortFunc(out, func(a, b *api.Allocation) int { return allocIndex(a.Name) - allocIndex(b.Name) })
	return out
}

// cloneJob deep-copies a job through its JSON form.
func cloneJob(job *api.Job) *api.Job {
	b, err := json.Marshal(job)
	if err != nil {
		panic(err)
	}
	var out api.Job
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

// runJob stores job and processes its registration evaluation.
func (h *harness) runJob(job *api.Job) {
	h.t.Helper()
	h.state.upsertJob(job)
	h.process(deref(job.Type), registerEval(job))
}

// setClientStatus sets the client status of the named allocations.
func (h *harness) setClientStatus(job *api.Job, status string, names ...string) {
	h.finishAllocs(job, status, time.Now(), names...)
}

// finishAllocs sets the client status of the named allocations, with their
// task finished at the given time.
func (h *harness) finishAllocs(job *api.Job, status string, at time.Time, names ...string) {
	for _, a := range h.runningAllocs(job) {
		if slices.Contains(names, a.Name) {
			updated := *a
			updated.ClientStatus = status
			updated.TaskStates = map[string]*api.TaskState{"server": {State: "dead", Failed: status == "failed", FinishedAt: at}}
			h.state.upsertAllocs(&updated)
		}
	}
}

// markExisting remembers the job's allocations, so that fresh can tell new
// placements from in-place updates.
func (h *harness) markExisting(job *api.Job) {
	all, _ := h.state.AllocsByJob(deref(job.Namespace), deref(job.ID))
	h.existing = make(map[string]bool, len(all))
	for _, a := range all {
		h.existing[a.ID] = true
	}
}

// fresh are the allocations of placed that did not exist at markExisting.
func (h *harness) fresh(placed []*api.Allocation) []*api.Allocation {
	return slices.DeleteFunc(slices.Clone(placed), func(a *api.Allocation) bool { return h.existing[a.ID] })
}
