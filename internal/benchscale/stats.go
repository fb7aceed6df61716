package benchscale

import (
	"bufio"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// brokerStats reads the eval broker's depth from the agent's self stats.
func brokerStats(httpURL string) (ready, unacked, blocked int) {
	client, err := api.NewClient(&api.Config{Address: httpURL})
	if err != nil {
		return 0, 0, 0
	}
	self, err := client.Agent().Self()
	if err != nil {
		return 0, 0, 0
	}
	n := self.Stats["nomad"]
	ready, _ = strconv.Atoi(n["broker_ready"])
	unacked, _ = strconv.Atoi(n["broker_unacked"])
	blocked, _ = strconv.Atoi(n["blocked_evals"])
	return ready, unacked, blocked
}

// Quantiles are a timer's p50, p90 and p99 as a server publishes them.
type Quantiles struct {
	P50, P90, P99 time.Duration
	Count         int64
}

// latencyWindow is how often the servers' timers are sampled: the
// Prometheus summaries of go-metrics cover the last ten seconds.
const latencyWindow = 5 * time.Second

// latencyWindows are the timer quantiles sampled during a run.
type latencyWindows []map[string]Quantiles

func (w *latencyWindows) add(q map[string]Quantiles) { *w = append(*w, q) }

// summary is, per timer, the median p50, the worst p90 and p99 over the
// windows that saw samples, and the last count.
func (w latencyWindows) summary() map[string]Quantiles {
	out := map[string]Quantiles{}
	p50s := map[string][]time.Duration{}
	for _, win := range w {
		for name, q := range win {
			s := out[name]
			s.Count = max(s.Count, q.Count)
			if q.P99 > 0 {
				s.P90, s.P99 = max(s.P90, q.P90), max(s.P99, q.P99)
				p50s[name] = append(p50s[name], q.P50)
			}
			out[name] = s
		}
	}
	for name, ds := range p50s {
		slices.Sort(ds)
		s := out[name]
		s.P50 = ds[len(ds)/2]
		out[name] = s
	}
	return out
}

// latencyMetrics are the timers the report shows, by their Prometheus
// names (Nomad's, with dots as underscores).
var latencyMetrics = []string{
	"nomad_nomad_plan_submit", "nomad_nomad_plan_evaluate", "nomad_nomad_plan_apply",
	"nomad_raft_commitTime", "nomad_raft_fsm_apply", "nomad_raft_rpc_appendEntries",
}

// scrapeLatencies reads the timers' quantiles from /v1/metrics in
// Prometheus format; a server without it yields none.
func scrapeLatencies(httpURL string) map[string]Quantiles {
	out := map[string]Quantiles{}
	resp, err := http.Get(httpURL + "/v1/metrics?format=prometheus")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out
	}
	want := map[string]bool{}
	for _, m := range latencyMetrics {
		want[m] = true
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		name, rest, _ := strings.Cut(fields[0], "{")
		base, isCount := strings.CutSuffix(name, "_count")
		if isCount {
			name = base
		}
		if !want[name] {
			continue
		}
		q := out[name]
		value, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil || value != value { // NaN: no samples yet
			continue
		}
		// go-metrics publishes timers in milliseconds.
		d := time.Duration(value * float64(time.Millisecond))
		switch {
		case isCount:
			q.Count = int64(value)
		case strings.Contains(rest, `quantile="0.5"`):
			q.P50 = d
		case strings.Contains(rest, `quantile="0.9"`):
			q.P90 = d
		case strings.Contains(rest, `quantile="0.99"`):
			q.P99 = d
		}
		out[name] = q
	}
	return out
}
