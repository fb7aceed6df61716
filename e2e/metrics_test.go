package e2e

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestMetrics reads /v1/metrics through the Go client: Nomad's JSON
// summary always, Prometheus text only where the telemetry block enables
// it.
func TestMetrics(t *testing.T) {
	tests := []struct {
		name       string
		config     string
		prometheus bool
	}{
		{name: "JSON only by default"},
		{name: "Prometheus enabled", config: "telemetry {\n  prometheus_metrics = true\n  collection_interval = \"500ms\"\n}\n", prometheus: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startDevAgent(t, tc.config)
			// A write just before the read puts a Raft apply in the
			// summary's current interval.
			if _, _, err := a.client.Variables().Create(&api.Variable{Path: "m", Items: api.VariableItems{"k": "v"}}, nil); err != nil {
				t.Fatal(err)
			}
			op := a.client.Operator()
			sum, _, err := op.MetricsSummary(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Gauges) == 0 || len(sum.Counters) == 0 || len(sum.Samples) == 0 {
				t.Fatalf("summary lacks gauges, counters or samples: %d, %d, %d", len(sum.Gauges), len(sum.Counters), len(sum.Samples))
			}
			if !hasMetric(sum.Counters, "nomad.raft.apply") {
				t.Errorf("no nomad.raft.apply counter after the node registered")
			}
			text, err := op.Metrics(&api.QueryOptions{Params: map[string]string{"format": "prometheus"}})
			switch {
			case tc.prometheus && err != nil:
				t.Fatalf("Prometheus metrics: %v", err)
			case tc.prometheus && !strings.Contains(string(text), "# TYPE nomad_raft_apply counter"):
				t.Errorf("Prometheus text lacks the Raft counter:\n%s", tail(string(text), 20))
			case !tc.prometheus && (err == nil || !strings.Contains(err.Error(), "415")):
				t.Errorf("Prometheus metrics while disabled: %v, want a 415", err)
			}
		})
	}
}

func hasMetric(values []api.SampledValue, name string) bool {
	for _, v := range values {
		if v.Name == name {
			return true
		}
	}
	return false
}
