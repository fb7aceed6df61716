// Package telemetry collects the agent's metrics through go-metrics, as
// Nomad does (Raft and memberlist report into the same process-wide
// registry), keeps the recent ones in memory, and serves them the way
// /v1/metrics does: Nomad's JSON summary, or Prometheus text when the
// agent's telemetry block enables prometheus_metrics.
package telemetry

import (
	"errors"
	"net/http"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/hashicorp/go-metrics/compat/prometheus"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is the part of the agent's `telemetry` block Roam acts on.
type Config struct {
	// CollectionInterval is how often runtime metrics are gathered
	// (collection_interval, 1s by default).
	CollectionInterval time.Duration
	// PrometheusMetrics serves Prometheus text at ?format=prometheus.
	PrometheusMetrics bool
	// DisableHostname leaves the host name out of gauge names.
	DisableHostname bool
}

// serviceName prefixes every metric name, as in Nomad ("nomad.raft.apply").
const serviceName = "nomad"

// Inmem sink intervals: Nomad keeps ten-second intervals for a minute.
const (
	inmemInterval = 10 * time.Second
	inmemRetain   = time.Minute
)

// ErrPrometheusDisabled answers a Prometheus request on an agent whose
// telemetry block does not enable it.
var ErrPrometheusDisabled = errors.New("Prometheus is not enabled")

// Telemetry is the agent's metrics registry.
type Telemetry struct {
	start time.Time
	inmem *metrics.InmemSink
	prom  http.Handler // nil unless Prometheus is enabled
}

// New sets up the process-wide metrics registry per c. The latest New
// wins: several agents in one process share the registry of the last.
func New(c Config) (*Telemetry, error) {
	t := &Telemetry{start: time.Now(), inmem: metrics.NewInmemSink(inmemInterval, inmemRetain)}
	sinks := metrics.FanoutSink{t.inmem}
	if c.PrometheusMetrics {
		reg := promclient.NewRegistry()
		opts := prometheus.DefaultPrometheusOpts
		opts.Registerer = reg
		sink, err := prometheus.NewPrometheusSinkFrom(opts)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, sink)
		t.prom = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	}
	conf := metrics.DefaultConfig(serviceName)
	conf.EnableHostname = !c.DisableHostname
	conf.EnableHostnameLabel = false
	if c.CollectionInterval > 0 {
		conf.ProfileInterval = c.CollectionInterval
	}
	if _, err := metrics.NewGlobal(conf, sinks); err != nil {
		return nil, err
	}
	return t, nil
}

// ServePrometheus writes the metrics in Prometheus' text format, or
// returns ErrPrometheusDisabled.
func (t *Telemetry) ServePrometheus(w http.ResponseWriter, r *http.Request) error {
	if t.prom == nil {
		return ErrPrometheusDisabled
	}
	t.prom.ServeHTTP(w, r)
	return nil
}
