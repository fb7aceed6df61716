package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// planApplierHarness drives a plan applier of its own over a test
// server's Raft and state, with the scheduler workers stopped so that
// only the test's plans reach Raft. Each Raft apply of the applier can be
// held back (gate) or refused (fail) to shape the pipeline's timing.
type planApplierHarness struct {
	t   *testing.T
	s   *Server
	job *api.Job
	p   *planApplier

	mu sync.Mutex
	// applied lists the message types the applier wrote, in order.
	applied []structs.MessageType
	// gate, when set, holds the next apply until it is closed; entered
	// is closed when that apply starts waiting.
	gate, entered chan struct{}
	// fail, when set, is returned by the next apply after its gate.
	fail error
}

func newPlanApplierHarness(t *testing.T, nodes ...string) *planApplierHarness {
	t.Helper()
	s := testServer(t, time.Hour)
	if err := s.SetSchedulerWorkers(WorkerConfig{NumSchedulers: 0, EnabledSchedulers: allSchedulers}); err != nil {
		t.Fatal(err)
	}
	for _, id := range nodes {
		// Room for one 64 MB allocation, not two.
		if _, err := s.raftApply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: testNode(id, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 1, 64)}); err != nil {
		t.Fatal(err)
	}
	job, err := s.State().Snapshot().JobByID("default", "web")
	if err != nil || job == nil {
		t.Fatalf("job not stored: %v", err)
	}
	h := &planApplierHarness{t: t, s: s, job: job}
	h.p = newPlanApplier(s.fsm.State, h.apply, s.logger)
	return h
}

func (h *planApplierHarness) apply(typ structs.MessageType, req any) (uint64, error) {
	h.mu.Lock()
	h.applied = append(h.applied, typ)
	gate, entered, fail := h.gate, h.entered, h.fail
	h.gate, h.entered, h.fail = nil, nil, nil
	h.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	if fail != nil {
		return 0, fail
	}
	return h.s.raftApply(typ, req)
}

// holdNext holds the applier's next Raft apply until release is called,
// refusing it with fail when fail is not nil; the returned channel closes
// once that apply is waiting.
func (h *planApplierHarness) holdNext(fail error) (entered <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	gate, in := make(chan struct{}), make(chan struct{})
	h.gate, h.entered, h.fail = gate, in, fail
	return in, func() { close(gate) }
}

func (h *planApplierHarness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	go h.p.Run(ctx)
}

// plan places one 64 MB allocation of the job on node.
func (h *planApplierHarness) plan(evalID, node string) *structs.Plan {
	plan := &structs.Plan{EvalID: evalID, Job: h.job}
	plan.AppendAlloc(&api.Allocation{
		ID: evalID + "-alloc", Namespace: "default", EvalID: evalID, Name: "web.web[0]", NodeID: node,
		JobID: "web", Job: h.job, TaskGroup: "web",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		Resources: &api.Resources{CPU: ptr(100), MemoryMB: ptr(64)},
	})
	return plan
}

// submit queues plan at the applier and returns where its result comes.
func (h *planApplierHarness) submit(plan *structs.Plan) <-chan planOutcome {
	pending := &pendingPlan{plan: plan, result: make(chan planOutcome, 1)}
	h.p.queue <- pending
	return pending.result
}

// waitQueued waits until n plans wait in the applier's queue.
func (h *planApplierHarness) waitQueued(n int) {
	waitFor(h.t, fmt.Sprintf("%d queued plans", n), func() bool { return len(h.p.queue) == n })
}

func receive(t *testing.T, c <-chan planOutcome) planOutcome {
	t.Helper()
	select {
	case out := <-c:
		return out
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for a plan result")
		return planOutcome{}
	}
}

// placed reports whether the result commits the plan's allocation.
func placed(r *structs.PlanResult) bool { return len(r.NodeAllocation) == 1 }

func (h *planApplierHarness) storedAllocs() int {
	allocs, err := h.s.State().Snapshot().AllocsByJob("default", "web")
	if err != nil {
		h.t.Fatal(err)
	}
	return len(allocs)
}

func TestPlanApplierBatchesQueuedPlans(t *testing.T) {
	cases := []struct {
		name string
		// nodes of the second plan; the first plan places on n1.
		second string
		// wantSecond is whether the second plan is accepted.
		wantSecond bool
	}{
		{name: "plans on different nodes both commit in one entry", second: "n2", wantSecond: true},
		{name: "plan that no longer fits after the one ahead is rejected", second: "n1", wantSecond: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newPlanApplierHarness(t, "n1", "n2")
			first := h.submit(h.plan("e1", "n1"))
			second := h.submit(h.plan("e2", tc.second))
			h.start()
			a, b := receive(t, first), receive(t, second)
			if a.err != nil || b.err != nil {
				t.Fatalf("errors: %v, %v", a.err, b.err)
			}
			if !placed(a.result) || a.result.RefreshIndex != 0 {
				t.Fatalf("first plan: placed %v, refresh %d; want placed, no refresh", placed(a.result), a.result.RefreshIndex)
			}
			if placed(b.result) != tc.wantSecond {
				t.Fatalf("second plan placed = %v, want %v", placed(b.result), tc.wantSecond)
			}
			want := []structs.MessageType{structs.ApplyPlanResultsRequestType}
			wantAllocs := 1
			if tc.wantSecond {
				want = []structs.MessageType{structs.ApplyPlanResultsBatchRequestType}
				wantAllocs = 2
				if b.result.AllocIndex != a.result.AllocIndex {
					t.Fatalf("batched plans committed at %d and %d, want one index", a.result.AllocIndex, b.result.AllocIndex)
				}
			} else if b.result.RefreshIndex < a.result.AllocIndex {
				t.Fatalf("rejected plan refreshes to %d, before the first plan's commit at %d", b.result.RefreshIndex, a.result.AllocIndex)
			}
			if fmt.Sprint(h.applied) != fmt.Sprint(want) {
				t.Fatalf("Raft entries %v, want %v", h.applied, want)
			}
			if n := h.storedAllocs(); n != wantAllocs {
				t.Fatalf("stored %d allocations, want %d", n, wantAllocs)
			}
		})
	}
}

func TestPlanApplierChecksAgainstInFlightPlan(t *testing.T) {
	cases := []struct {
		name string
		// inflightErr refuses the in-flight plan's Raft entry.
		inflightErr error
		// wantSecond is whether the conflicting second plan is accepted.
		wantSecond bool
	}{
		{name: "conflict with the committing plan is rejected", wantSecond: false},
		{name: "plan is checked again when the one ahead fails to commit", inflightErr: errors.New("raft refused"), wantSecond: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newPlanApplierHarness(t, "n1")
			h.start()
			entered, release := h.holdNext(tc.inflightErr)
			first := h.submit(h.plan("e1", "n1"))
			<-entered
			second := h.submit(h.plan("e2", "n1"))
			// The second plan is taken from the queue and checked while
			// the first one's entry is held.
			h.waitQueued(0)
			release()
			a, b := receive(t, first), receive(t, second)
			if (a.err != nil) != (tc.inflightErr != nil) {
				t.Fatalf("first plan error %v, want %v", a.err, tc.inflightErr)
			}
			if b.err != nil {
				t.Fatal(b.err)
			}
			if placed(b.result) != tc.wantSecond {
				t.Fatalf("second plan placed = %v, want %v", placed(b.result), tc.wantSecond)
			}
			if !tc.wantSecond && b.result.RefreshIndex < a.result.AllocIndex {
				t.Fatalf("rejected plan refreshes to %d, before the first plan's commit at %d", b.result.RefreshIndex, a.result.AllocIndex)
			}
			if n := h.storedAllocs(); n != 1 {
				t.Fatalf("stored %d allocations, want 1", n)
			}
		})
	}
}

func TestPlanApplierGatherLimits(t *testing.T) {
	cases := []struct {
		name string
		// allocs are the allocation counts of the queued plans.
		allocs []int
		// want are the plan counts of the batches gathered.
		want []int
	}{
		{name: "small plans share a batch", allocs: []int{1, 2, 3}, want: []int{3}},
		{name: "plan count bound", allocs: make([]int, maxPlanBatch+1), want: []int{maxPlanBatch, 1}},
		{name: "allocation bound holds the plan past it", allocs: []int{600, 424, 1}, want: []int{2, 1}},
		{name: "a plan over the bound goes alone", allocs: []int{10, 2000, 10}, want: []int{1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlanApplier(nil, nil, nil)
			for i, n := range tc.allocs {
				plan := &structs.Plan{EvalID: fmt.Sprint(i)}
				for j := 0; j < n; j++ {
					plan.AppendAlloc(&api.Allocation{ID: fmt.Sprint(i, "-", j), NodeID: fmt.Sprint("n", j%7)})
				}
				p.queue <- &pendingPlan{plan: plan}
			}
			var got []int
			for {
				first := p.held
				p.held = nil
				if first == nil {
					select {
					case first = <-p.queue:
					default:
					}
				}
				if first == nil {
					break
				}
				got = append(got, len(p.gather(first)))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("batches of %v plans, want %v", got, tc.want)
			}
		})
	}
}
