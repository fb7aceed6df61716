package telemetry

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/hashicorp/nomad/api"
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
			sum := tel.Summary()
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

func hasCounter(sum *api.MetricsSummary, name string, total float64) bool {
	for _, c := range sum.Counters {
		if c.Name == name && c.Sum == total {
			return true
		}
	}
	return false
}

// TestSummarizeMerges: the partial first interval and the current one
// read as one: counters and samples add up, the later gauge wins.
func TestSummarizeMerges(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, second := metrics.NewIntervalMetrics(at), metrics.NewIntervalMetrics(at.Add(inmemInterval))
	for i, iv := range []*metrics.IntervalMetrics{first, second} {
		iv.Gauges["g"] = metrics.GaugeValue{Name: "nomad.queue", Value: float32(i + 1)}
		iv.Counters["c"] = metrics.SampledValue{Name: "nomad.requests", AggregateSample: &metrics.AggregateSample{Count: 2, Sum: 2, SumSq: 2, Min: 1, Max: 1}}
		iv.Samples["s"] = metrics.SampledValue{Name: "nomad.latency", AggregateSample: &metrics.AggregateSample{Count: 1, Sum: float64(2 * (i + 1)), SumSq: float64(4 * (i + 1) * (i + 1)), Min: float64(2 * (i + 1)), Max: float64(2 * (i + 1))}}
	}
	sum := summarize([]*metrics.IntervalMetrics{first, second})
	tests := []struct {
		name      string
		got, want float64
	}{
		{"gauge is the later value", float64(sum.Gauges[0].Value), 2},
		{"counter counts add up", float64(sum.Counters[0].Count), 4},
		{"counter sums add up", sum.Counters[0].Sum, 4},
		{"sample minimum", sum.Samples[0].Min, 2},
		{"sample maximum", sum.Samples[0].Max, 4},
		{"sample mean", sum.Samples[0].Mean, 3},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
