package taskrunner

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/structs"
)

// Restart policy modes.
const (
	modeFail  = "fail"
	modeDelay = "delay"
)

// restartPolicy is a resolved `restart` block.
type restartPolicy struct {
	Attempts int
	Interval time.Duration
	Delay    time.Duration
	Mode     string
}

// defaultPolicy is Nomad's default restart policy for a job type.
func defaultPolicy(jobType string) restartPolicy {
	if jobType == structs.JobTypeBatch || jobType == structs.JobTypeSysbatch {
		return restartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: modeFail}
	}
	return restartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: modeFail}
}

// resolvePolicy overlays the group's and then the task's restart blocks on
// the job type's defaults.
func resolvePolicy(jobType string, group, task *api.RestartPolicy) restartPolicy {
	p := defaultPolicy(jobType)
	for _, rp := range []*api.RestartPolicy{group, task} {
		if rp == nil {
			continue
		}
		if rp.Attempts != nil {
			p.Attempts = *rp.Attempts
		}
		if rp.Interval != nil {
			p.Interval = *rp.Interval
		}
		if rp.Delay != nil {
			p.Delay = *rp.Delay
		}
		if rp.Mode != nil && *rp.Mode != "" {
			p.Mode = *rp.Mode
		}
	}
	return p
}

// restartTracker decides whether and when a task restarts after an exit,
// counting restarts within the policy's interval.
type restartTracker struct {
	policy      restartPolicy
	batch       bool
	count       int
	windowStart time.Time
	now         func() time.Time
}

func newRestartTracker(p restartPolicy, jobType string) *restartTracker {
	batch := jobType == structs.JobTypeBatch || jobType == structs.JobTypeSysbatch
	return &restartTracker{policy: p, batch: batch, now: time.Now}
}

// decision is what the tracker decided after an exit.
type decision struct {
	Restart bool
	Delay   time.Duration
	Reason  string
	// Failed is set when the task stops for good because of a failure.
	Failed bool
}

// next decides after an exit (res) or a failure to start (res nil).
func (rt *restartTracker) next(res *drivers.ExitResult) decision {
	if res != nil && res.Successful() && rt.batch {
		return decision{}
	}
	now := rt.now()
	if rt.windowStart.IsZero() || now.Sub(rt.windowStart) > rt.policy.Interval {
		rt.windowStart, rt.count = now, 0
	}
	rt.count++
	if rt.count <= rt.policy.Attempts {
		return decision{Restart: true, Delay: rt.jittered(rt.policy.Delay), Reason: reasonWithinPolicy}
	}
	if rt.policy.Mode == modeDelay {
		wait := rt.windowStart.Add(rt.policy.Interval).Sub(now)
		return decision{Restart: true, Delay: max(wait, rt.policy.Delay), Reason: reasonDelay}
	}
	if rt.policy.Attempts == 0 {
		return decision{Failed: true, Reason: reasonNoRestarts}
	}
	return decision{Failed: true, Reason: fmt.Sprintf("Exceeded allowed attempts %d in interval %v and mode is %q",
		rt.policy.Attempts, rt.policy.Interval, rt.policy.Mode)}
}

// jittered adds up to 25% random delay, as Nomad does.
func (rt *restartTracker) jittered(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}
