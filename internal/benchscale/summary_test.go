package benchscale

import (
	"strings"
	"testing"
	"time"
)

// TestSummaryOfAnUnfinishedRun: a run stopped before every allocation ran
// reports what it placed, and does not print idle or failover figures it
// never took.
func TestSummaryOfAnUnfinishedRun(t *testing.T) {
	cases := []struct {
		name     string
		finished bool
		want     []string
		absent   []string
	}{
		{"finished", true, []string{"placed                     100 in 10s: 10 placements/s", "leader ready after kill -9 2s", "idle: heartbeats/s"}, []string{"unfinished"}},
		{"timed out", false, []string{"placed                     100 in 10s: 10 placements/s", "unfinished                 100 of 200 allocations placed"}, []string{"leader ready", "idle:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Config: Config{Allocs: 200, Failover: true, Idle: time.Second}, Placed: 100, Elapsed: 10 * time.Second,
				LeaderReady: 2 * time.Second, Finished: tc.finished}
			var b strings.Builder
			r.WriteSummary(&b)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, b.String())
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(b.String(), a) {
					t.Errorf("summary has %q:\n%s", a, b.String())
				}
			}
		})
	}
}
