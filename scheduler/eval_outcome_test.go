package scheduler

import (
	"errors"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestEvalOutcome covers what the scheduler writes back through the
// Planner: blocked evaluations, reblocking, and plan retries.
func TestEvalOutcome(t *testing.T) {
	cases := []struct {
		name  string
		nodes int
		count int
		setup func(h *harness, eval *api.Evaluation)
		check func(t *testing.T, h *harness)
	}{
		{
			name: "all placed completes without blocked eval", nodes: 2, count: 2,
			check: func(t *testing.T, h *harness) {
				e := h.lastEval()
				if e.Status != structs.EvalStatusComplete || e.BlockedEval != "" || len(h.created) != 0 || e.QueuedAllocations["web"] != 0 {
					t.Errorf("eval = %+v", e)
				}
			},
		},
		{
			name: "unplaceable creates one blocked eval", nodes: 1, count: 20,
			check: func(t *testing.T, h *harness) {
				e := h.lastEval()
				if len(h.created) != 1 {
					t.Fatalf("%d evals created, want 1", len(h.created))
				}
				b := h.created[0]
				if b.Status != structs.EvalStatusBlocked || b.TriggeredBy != structs.EvalTriggerQueuedAllocs ||
					b.PreviousEval != e.ID || e.BlockedEval != b.ID || b.JobID != e.JobID {
					t.Errorf("blocked eval = %+v", b)
				}
				if e.Status != structs.EvalStatusComplete || e.QueuedAllocations["web"] != 12 {
					t.Errorf("eval = %+v", e)
				}
			},
		},
		{
			name: "blocked eval that still cannot place is reblocked", nodes: 1, count: 20,
			setup: func(h *harness, eval *api.Evaluation) { eval.Status = structs.EvalStatusBlocked },
			check: func(t *testing.T, h *harness) {
				if len(h.created) != 0 || len(h.updates) != 0 || len(h.reblocked) != 1 {
					t.Fatalf("created %d, updated %d, reblocked %d", len(h.created), len(h.updates), len(h.reblocked))
				}
				if h.reblocked[0].FailedTGAllocs["web"] == nil {
					t.Error("reblocked eval lacks FailedTGAllocs")
				}
			},
		},
		{
			name: "partial commit is retried", nodes: 2, count: 2,
			setup: func(h *harness, _ *api.Evaluation) { h.rejectPlans = 2 },
			check: func(t *testing.T, h *harness) {
				if len(h.plans) != 3 || h.lastEval().Status != structs.EvalStatusComplete {
					t.Errorf("%d plans, eval %+v", len(h.plans), h.lastEval())
				}
			},
		},
		{
			name: "maximum plan attempts fails the eval", nodes: 2, count: 2,
			setup: func(h *harness, _ *api.Evaluation) { h.rejectPlans = 100 },
			check: func(t *testing.T, h *harness) {
				e := h.lastEval()
				if len(h.plans) != maxPlanAttempts || e.Status != structs.EvalStatusFailed || e.StatusDescription != "maximum attempts reached (5)" {
					t.Errorf("%d plans, eval %+v", len(h.plans), e)
				}
				if len(h.created) != 1 || h.created[0].TriggeredBy != structs.EvalTriggerMaxPlans {
					t.Errorf("created = %+v", h.created)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(makeNodes(tc.nodes, nodeSpec{})...)
			job := testJob("out", "service", tc.count)
			h.state.upsertJob(job)
			eval := registerEval(job)
			if tc.setup != nil {
				tc.setup(h, eval)
			}
			h.process("service", eval)
			tc.check(t, h)
		})
	}
}

func TestMalformedJobFailsEval(t *testing.T) {
	h := newHarness(t)
	h.state.upsertNodes(makeNodes(1, nodeSpec{})...)
	job := testJob("bad", "service", 1)
	job.TaskGroups = append(job.TaskGroups, nil)
	h.state.upsertJob(job)
	h.process("service", registerEval(job))
	if e := h.lastEval(); e.Status != structs.EvalStatusFailed || e.StatusDescription != "malformed job: task group 1 is empty" {
		t.Errorf("eval = %+v", e)
	}
}

func TestNewRejectsUnknownType(t *testing.T) {
	h := newHarness(t)
	if _, err := New("parameterized", h.state, h, Options{}); !errors.Is(err, ErrUnknownJobType) {
		t.Errorf("New(parameterized) error = %v, want ErrUnknownJobType", err)
	}
}
