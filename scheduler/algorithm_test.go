package scheduler

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestSchedulerAlgorithm places one allocation on a small and a large
// node: bin-packing takes the small one, which it leaves fuller, spread
// the large one, which it leaves emptier.
func TestSchedulerAlgorithm(t *testing.T) {
	cases := []struct {
		name      string
		algorithm api.SchedulerAlgorithm
		want      string
	}{
		{name: "default is binpack", want: "small"},
		{name: "binpack", algorithm: api.SchedulerAlgorithmBinpack, want: "small"},
		{name: "spread", algorithm: api.SchedulerAlgorithmSpread, want: "large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.algorithm = tc.algorithm
			small := makeNodes(1, nodeSpec{cpu: 1000, memoryMB: 1024})[0]
			small.ID, small.Name = "00000000-0000-4000-8000-000000000001", "small"
			large := makeNodes(1, nodeSpec{cpu: 16000, memoryMB: 32768})[0]
			large.ID, large.Name = "00000000-0000-4000-8000-000000000002", "large"
			h.state.upsertNodes(small, large)
			job := testJob("web", "batch", 1)
			h.state.upsertJob(job)
			h.process("batch", registerEval(job))
			placed := planAllocs(h.lastPlan())
			if len(placed) != 1 || placed[0].NodeName != tc.want {
				t.Fatalf("placed %v, want on %s", placed, tc.want)
			}
		})
	}
}
