package scheduler

import (
	"runtime"
	"testing"
)

// TestHugeCountPlacesOnlyWhatFits schedules groups asking for far more
// allocations than the nodes hold: the plan holds only what fits, the rest
// is reported as queued and as coalesced failures, and the work does not
// grow with the count asked for.
func TestHugeCountPlacesOnlyWhatFits(t *testing.T) {
	cases := []struct {
		name    string
		jobType string
		count   int
		nodes   int
	}{
		// Each 4000 MHz node holds 8 tasks of 500 MHz.
		{"service on two nodes", "service", 2_000_000, 2},
		{"batch on one node", "batch", 3_000_000, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.annotate = false
			h.state.upsertNodes(makeNodes(tc.nodes, nodeSpec{})...)
			job := testJob("huge", tc.jobType, tc.count)
			h.state.upsertJob(job)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			h.process(tc.jobType, registerEval(job))
			runtime.ReadMemStats(&after)
			fits := tc.nodes * 8
			if got := len(planAllocs(h.lastPlan())); got != fits {
				t.Fatalf("placed %d, want the %d that fit", got, fits)
			}
			eval := h.lastEval()
			m := eval.FailedTGAllocs["web"]
			if m == nil || m.CoalescedFailures != tc.count-fits-1 {
				t.Fatalf("failed allocs = %+v, want %d coalesced failures", m, tc.count-fits-1)
			}
			if q := eval.QueuedAllocations["web"]; q != tc.count-fits {
				t.Fatalf("queued = %d, want %d", q, tc.count-fits)
			}
			// A few MB at most; one entry per allocation asked for would
			// take hundreds.
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 32<<20 {
				t.Fatalf("scheduling allocated %d MB", grown>>20)
			}
		})
	}
}
