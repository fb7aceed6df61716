package agent

import (
	"errors"
	"net/http"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/roam-project/roam/internal/telemetry"
)

// metrics serves GET /v1/metrics: this agent's metrics as Nomad's JSON
// summary, or in Prometheus' text format with ?format=prometheus (415
// unless the telemetry block sets prometheus_metrics, as in Nomad).
func (h *httpAPI) metrics(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, codedError(http.StatusMethodNotAllowed, "Invalid method")
	}
	if r.URL.Query().Get("format") == "prometheus" {
		err := h.agent.telemetry.ServePrometheus(w, r)
		if errors.Is(err, telemetry.ErrPrometheusDisabled) {
			return nil, codedError(http.StatusUnsupportedMediaType, "%v", err)
		}
		return nil, err
	}
	return h.agent.telemetry.Summary(), nil
}

// measured records how long each request to a route takes, as the sample
// nomad.http.METHOD.PATTERN.
func measured(pattern string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer metrics.MeasureSince([]string{"http", r.Method, pattern}, time.Now())
		next(w, r)
	}
}
