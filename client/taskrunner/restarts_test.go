package taskrunner

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/drivers"
)

func TestRestartTracker(t *testing.T) {
	fail := &drivers.ExitResult{ExitCode: 1}
	ok := &drivers.ExitResult{}
	startErr := &drivers.ExitResult{ExitCode: -1, Err: errors.New("boom")}
	policy := restartPolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second, Mode: modeFail}
	cases := []struct {
		name    string
		policy  restartPolicy
		jobType string
		exits   []*drivers.ExitResult
		// want is the last decision's restart, failed flag and reason prefix.
		wantRestart bool
		wantFailed  bool
		wantReason  string
	}{
		{"within policy", policy, "service", []*drivers.ExitResult{fail, fail}, true, false, reasonWithinPolicy},
		{"attempts exhausted", policy, "service", []*drivers.ExitResult{fail, fail, fail}, false, true, "Exceeded allowed attempts 2 in interval 1m0s and mode is \"fail\""},
		{"no restarts allowed", restartPolicy{Interval: time.Minute, Mode: modeFail}, "service", []*drivers.ExitResult{fail}, false, true, reasonNoRestarts},
		{"delay mode waits", restartPolicy{Attempts: 1, Interval: time.Minute, Delay: time.Second, Mode: modeDelay}, "service", []*drivers.ExitResult{fail, fail}, true, false, reasonDelay},
		{"batch success completes", policy, "batch", []*drivers.ExitResult{ok}, false, false, ""},
		{"service success restarts", policy, "service", []*drivers.ExitResult{ok}, true, false, reasonWithinPolicy},
		{"start errors count", policy, "batch", []*drivers.ExitResult{startErr, startErr, startErr}, false, true, "Exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRestartTracker(tc.policy, tc.jobType)
			var d decision
			for _, e := range tc.exits {
				d = rt.next(e)
			}
			if d.Restart != tc.wantRestart || d.Failed != tc.wantFailed || !strings.HasPrefix(d.Reason, tc.wantReason) {
				t.Fatalf("decision = %+v", d)
			}
			if tc.name == "delay mode waits" && d.Delay < 59*time.Second {
				t.Fatalf("delay %v, want until the interval ends", d.Delay)
			}
		})
	}
}
