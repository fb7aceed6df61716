package telemetry

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	metrics "github.com/hashicorp/go-metrics/compat"
)

func TestTelemetry(t *testing.T) {
	tests := []struct {
		name       string
		config     Config
		wantProm   string // a line the Prometheus text must hold; "" when disabled
		wantPromEr error
	}{
		{name: "in memory only", config: Config{}, wantPromEr: ErrPrometheusDisabled},
		{name: "with Prometheus", config: Config{PrometheusMetrics: true, DisableHostname: true},
			wantProm: "nomad_test_requests 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tel, err := New(tc.config)
			if err != nil {
				t.Fatal(err)
			}
			metrics.IncrCounter([]string{"test", "requests"}, 3)
			metrics.SetGauge([]string{"test", "queue"}, 7)
			raw, err := tel.Summary()
			if err != nil {
				t.Fatal(err)
			}
			sum := raw.(metrics.MetricsSummary)
			if !hasCounter(sum, "nomad.test.requests", 3) {
				t.Errorf("summary counters %+v lack nomad.test.requests = 3", sum.Counters)
			}
			if len(sum.Gauges) == 0 {
				t.Errorf("summary has no gauges")
			}
			rec := httptest.NewRecorder()
			err = tel.ServePrometheus(rec, httptest.NewRequest("GET", "/v1/metrics?format=prometheus", nil))
			if !errors.Is(err, tc.wantPromEr) {
				t.Fatalf("ServePrometheus: %v, want %v", err, tc.wantPromEr)
			}
			if tc.wantProm != "" && !strings.Contains(rec.Body.String(), tc.wantProm) {
				t.Errorf("Prometheus text lacks %q:\n%s", tc.wantProm, rec.Body.String())
			}
		})
	}
}

func hasCounter(sum metrics.MetricsSummary, name string, total float64) bool {
	for _, c := range sum.Counters {
		if c.Name == name && c.Sum == total {
			return true
		}
	}
	return false
}
