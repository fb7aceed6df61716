package telemetry

import (
	"math"
	"sort"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/hashicorp/nomad/api"
)

// Summary is what /v1/metrics serves: the most recent finished interval,
// as Nomad does. While the agent is younger than one full interval, the
// one it started in is partial, and it is merged with the current one:
// a summary read right after start up holds what start up reported.
func (t *Telemetry) Summary() *api.MetricsSummary {
	data := t.inmem.Data()
	n := len(data)
	shown := data[n-1:]
	if n >= 2 {
		shown = data[n-2 : n-1]
		if data[n-2].Interval.Before(t.start) {
			shown = data[n-2:]
		}
	}
	return summarize(shown)
}

// summarize rolls intervals into one summary, later gauge values winning,
// counters and samples aggregated, each list sorted by name.
func summarize(intervals []*metrics.IntervalMetrics) *api.MetricsSummary {
	gauges := map[string]api.GaugeValue{}
	points := map[string][]float32{}
	counters := map[string]*aggregate{}
	samples := map[string]*aggregate{}
	for _, iv := range intervals {
		iv.RLock()
		for hash, g := range iv.Gauges {
			gauges[hash] = api.GaugeValue{Name: g.Name, Value: g.Value, DisplayLabels: displayLabels(g.Labels)}
		}
		for name, p := range iv.Points {
			points[name] = append(points[name], p...)
		}
		merge(counters, iv.Counters)
		merge(samples, iv.Samples)
		iv.RUnlock()
	}
	last := intervals[len(intervals)-1].Interval
	span := time.Duration(len(intervals)) * inmemInterval
	out := &api.MetricsSummary{Timestamp: last.Round(time.Second).UTC().String(),
		Gauges: []api.GaugeValue{}, Points: []api.PointValue{},
		Counters: sampled(counters, span), Samples: sampled(samples, span)}
	for _, g := range gauges {
		out.Gauges = append(out.Gauges, g)
	}
	sort.Slice(out.Gauges, func(i, j int) bool { return out.Gauges[i].Name < out.Gauges[j].Name })
	for name, p := range points {
		out.Points = append(out.Points, api.PointValue{Name: name, Points: p})
	}
	sort.Slice(out.Points, func(i, j int) bool { return out.Points[i].Name < out.Points[j].Name })
	return out
}

// aggregate is one counter or sample rolled over several intervals.
type aggregate struct {
	name   string
	labels []metrics.Label
	api.AggregateSample
	sumSq float64
}

// merge adds an interval's counters or samples into into.
func merge(into map[string]*aggregate, values map[string]metrics.SampledValue) {
	for hash, v := range values {
		if v.AggregateSample == nil {
			continue
		}
		s := v.AggregateSample
		a := into[hash]
		if a == nil {
			a = &aggregate{name: v.Name, labels: v.Labels}
			a.Min, a.Max = s.Min, s.Max
			into[hash] = a
		}
		a.Count += s.Count
		a.Sum += s.Sum
		a.sumSq += s.SumSq
		a.Min, a.Max = math.Min(a.Min, s.Min), math.Max(a.Max, s.Max)
	}
}

// sampled turns aggregates into the API's values, with rates per second
// over span and go-metrics' mean and standard deviation.
func sampled(in map[string]*aggregate, span time.Duration) []api.SampledValue {
	out := []api.SampledValue{}
	for _, a := range in {
		s := a.AggregateSample
		s.Rate = s.Sum / span.Seconds()
		v := api.SampledValue{Name: a.name, AggregateSample: &s, DisplayLabels: displayLabels(a.labels)}
		if s.Count > 0 {
			v.Mean = s.Sum / float64(s.Count)
		}
		if s.Count > 1 {
			n := float64(s.Count)
			v.Stddev = math.Sqrt(math.Max((n*a.sumSq-s.Sum*s.Sum)/(n*(n-1)), 0))
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func displayLabels(labels []metrics.Label) map[string]string {
	out := make(map[string]string, len(labels))
	for _, l := range labels {
		out[l.Name] = l.Value
	}
	return out
}
