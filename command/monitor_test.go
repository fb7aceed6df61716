package command

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// evalStep is one observation of an evaluation and its allocations.
type evalStep struct {
	eval   *api.Evaluation
	allocs []*api.AllocationListStub
}

// scriptedSource replays evaluation and deployment observations in order,
// as a server answering blocking queries would.
type scriptedSource struct {
	evals       map[string][]evalStep
	deployments map[string][]*api.Deployment
	pos         map[string]int
	// unblocking makes every answer carry the same index, as a server that
	// does not support blocking queries would.
	unblocking bool
}

func (s *scriptedSource) next(id string, n int) int {
	if s.pos == nil {
		s.pos = map[string]int{}
	}
	i := min(s.pos[id], n-1)
	s.pos[id]++
	return i
}

func (s *scriptedSource) evaluation(id string, _ uint64) (*api.Evaluation, uint64, error) {
	steps, ok := s.evals[id]
	if !ok {
		return nil, 0, fmt.Errorf("Unexpected response code: 404 (eval not found)")
	}
	i := s.next(id, len(steps))
	if s.unblocking {
		return steps[i].eval, 10, nil
	}
	return steps[i].eval, uint64(10 + i), nil
}

func (s *scriptedSource) evalAllocations(id string) ([]*api.AllocationListStub, error) {
	return s.evals[id][s.pos[id]-1].allocs, nil
}

func (s *scriptedSource) deployment(id string, _ uint64) (*api.Deployment, uint64, error) {
	ds := s.deployments[id]
	i := s.next("d/"+id, len(ds))
	return ds[i], uint64(100 + i), nil
}

// testCLI returns a cli writing to buffers, with a fixed clock and the given
// environment.
func testCLI(env map[string]string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &cli{
		out:    &out,
		errOut: &errOut,
		in:     strings.NewReader(""),
		getenv: func(k string) string { return env[k] },
		now:    func() time.Time { return testNow },
		pause:  func(time.Duration) {},
	}, &out, &errOut
}

const (
	evalUUID   = "52e9f6a0-1111-2222-3333-444455556666"
	allocUUID  = "5cbf23a1-1111-2222-3333-444455556666"
	nodeUUID   = "9ec1ee6b-1111-2222-3333-444455556666"
	deployUUID = "62eb607c-1111-2222-3333-444455556666"
	blockUUID  = "3514787b-1111-2222-3333-444455556666"
)

func TestEvalMonitor(t *testing.T) {
	pending := &api.Evaluation{ID: evalUUID, JobID: "example", Status: "pending", CreateIndex: 10}
	complete := func(mod func(*api.Evaluation)) *api.Evaluation {
		e := *pending
		e.Status = "complete"
		if mod != nil {
			mod(&e)
		}
		return &e
	}
	placed := []*api.AllocationListStub{{ID: allocUUID, NodeID: nodeUUID, TaskGroup: "cache", DesiredStatus: "run", ClientStatus: "pending", CreateIndex: 11}}
	const ts = "2026-11-25T08:00:00Z"
	cases := []struct {
		name       string
		src        *scriptedSource
		wantCode   int
		wantPauses int
		want       string
	}{
		{
			name: "service job with a successful deployment",
			src: &scriptedSource{
				evals: map[string][]evalStep{evalUUID: {
					{eval: pending},
					{eval: complete(func(e *api.Evaluation) { e.DeploymentID = deployUUID }), allocs: placed},
				}},
				deployments: map[string][]*api.Deployment{deployUUID: {
					{ID: deployUUID, JobID: "example", Status: "running"},
					{ID: deployUUID, JobID: "example", Status: "successful", StatusDescription: "Deployment completed successfully",
						TaskGroups: map[string]*api.DeploymentState{"cache": {DesiredTotal: 1, PlacedAllocs: 1, HealthyAllocs: 1,
							RequireProgressBy: testNow.Add(10 * time.Minute)}}},
				}},
			},
			wantCode: 0,
			want: `==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation triggered by job "example"
==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation within deployment: "62eb607c"
    ` + ts + `: Allocation "5cbf23a1" created: node "9ec1ee6b", group "cache"
    ` + ts + `: Evaluation status changed: "pending" -> "complete"
==> ` + ts + `: Evaluation "52e9f6a0" finished with status "complete"
==> ` + ts + `: Monitoring deployment "62eb607c"
  ✓ Deployment "62eb607c" successful

    ` + ts + `
    ID          = 62eb607c
    Job ID      = example
    Job Version = 0
    Status      = successful
    Description = Deployment completed successfully

    Deployed
    Task Group  Desired  Placed  Healthy  Unhealthy  Progress Deadline
    cache       1        1       1        0          2026-11-25T08:10:00Z
`,
		},
		{
			name: "batch job already complete, no deployment",
			src:  &scriptedSource{evals: map[string][]evalStep{evalUUID: {{eval: complete(nil), allocs: placed}}}},
			want: `==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation triggered by job "example"
    ` + ts + `: Allocation "5cbf23a1" created: node "9ec1ee6b", group "cache"
==> ` + ts + `: Evaluation "52e9f6a0" finished with status "complete"
`,
		},
		{
			name: "placement failure exits 2 with the reasons",
			src: &scriptedSource{evals: map[string][]evalStep{evalUUID: {
				{eval: pending},
				{eval: complete(func(e *api.Evaluation) {
					e.BlockedEval = blockUUID
					e.FailedTGAllocs = map[string]*api.AllocationMetric{"cache": {
						NodesEvaluated:     1,
						ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 1},
						NodesExhausted:     1,
						DimensionExhausted: map[string]int{"memory": 1},
					}}
				})},
			}}},
			wantCode: 2,
			want: `==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation triggered by job "example"
==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation status changed: "pending" -> "complete"
==> ` + ts + `: Evaluation "52e9f6a0" finished with status "complete" but failed to place all allocations:
    ` + ts + `: Task Group "cache" (failed to place 1 allocation):
      * Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter
      * Resources exhausted on 1 nodes
      * Dimension "memory" exhausted on 1 nodes
    ` + ts + `: Evaluation "3514787b" waiting for additional capacity to place remainder
`,
		},
		{
			name: "allocation status change and a chained evaluation",
			src: &scriptedSource{evals: map[string][]evalStep{
				evalUUID: {
					{eval: pending, allocs: placed},
					{eval: complete(func(e *api.Evaluation) { e.NextEval = blockUUID }), allocs: []*api.AllocationListStub{
						{ID: allocUUID, NodeID: nodeUUID, TaskGroup: "cache", DesiredStatus: "run", ClientStatus: "running",
							ClientDescription: "Tasks are running", CreateIndex: 11}}},
				},
				blockUUID: {{eval: &api.Evaluation{ID: blockUUID, JobID: "example", Status: "complete", CreateIndex: 20}}},
			}},
			want: `==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation triggered by job "example"
    ` + ts + `: Allocation "5cbf23a1" created: node "9ec1ee6b", group "cache"
==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Allocation "5cbf23a1" status changed: "pending" -> "running" (Tasks are running)
    ` + ts + `: Evaluation status changed: "pending" -> "complete"
==> ` + ts + `: Evaluation "52e9f6a0" finished with status "complete"
==> ` + ts + `: Monitoring evaluation "3514787b"
    ` + ts + `: Evaluation triggered by job "example"
==> ` + ts + `: Evaluation "3514787b" finished with status "complete"
`,
		},
		{
			name: "unchanged answers of a non-blocking server are polled, not printed",
			src: &scriptedSource{unblocking: true, evals: map[string][]evalStep{evalUUID: {
				{eval: pending}, {eval: pending}, {eval: pending}, {eval: complete(nil)},
			}}},
			wantPauses: 2,
			want: `==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation triggered by job "example"
==> ` + ts + `: Monitoring evaluation "52e9f6a0"
    ` + ts + `: Evaluation status changed: "pending" -> "complete"
==> ` + ts + `: Evaluation "52e9f6a0" finished with status "complete"
`,
		},
		{
			name:     "missing evaluation is an error",
			src:      &scriptedSource{evals: map[string][]evalStep{}},
			wantCode: 1,
			want:     "",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, out, _ := testCLI(nil)
			pauses := 0
			c.pause = func(time.Duration) { pauses++ }
			m := &evalMonitor{c: c, src: tc.src}
			if code := m.monitor(evalUUID); code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", got, tc.want)
			}
			if pauses != tc.wantPauses {
				t.Errorf("paused %d times, want %d", pauses, tc.wantPauses)
			}
		})
	}
}

func TestFormatAllocMetrics(t *testing.T) {
	cases := []struct {
		name    string
		metrics *api.AllocationMetric
		want    string
	}{
		{
			name:    "no eligible nodes and empty datacenter",
			metrics: &api.AllocationMetric{NodesAvailable: map[string]int{"dc2": 0}},
			want:    "  * No nodes were eligible for evaluation\n  * No nodes are available in datacenter \"dc2\"",
		},
		{
			name: "class filters and quotas",
			metrics: &api.AllocationMetric{NodesEvaluated: 2, ClassFiltered: map[string]int{"gpu": 2},
				ClassExhausted: map[string]int{"gpu": 1}, QuotaExhausted: []string{"cpu"}},
			want: "  * Class \"gpu\": 2 nodes excluded by filter\n  * Class \"gpu\" exhausted on 1 nodes\n  * Quota limit hit \"cpu\"",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatAllocMetrics(tc.metrics, "  "); got != tc.want {
				t.Errorf("formatAllocMetrics:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
