package scheduler

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func TestRescheduleDelay(t *testing.T) {
	policy := func(fn string, delay, maxDelay time.Duration) *api.ReschedulePolicy {
		return &api.ReschedulePolicy{DelayFunction: &fn, Delay: &delay, MaxDelay: &maxDelay}
	}
	withEvents := func(n int) *api.Allocation {
		a := &api.Allocation{RescheduleTracker: &api.RescheduleTracker{}}
		for range n {
			a.RescheduleTracker.Events = append(a.RescheduleTracker.Events, &api.RescheduleEvent{})
		}
		return a
	}
	cases := []struct {
		name   string
		policy *api.ReschedulePolicy
		events int
		want   time.Duration
	}{
		{"constant", policy("constant", 5*time.Second, 0), 3, 5 * time.Second},
		{"exponential first", policy("exponential", 30*time.Second, time.Hour), 0, 30 * time.Second},
		{"exponential third", policy("exponential", 30*time.Second, time.Hour), 2, 2 * time.Minute},
		{"exponential capped", policy("exponential", 30*time.Second, time.Hour), 20, time.Hour},
		{"fibonacci", policy("fibonacci", 10*time.Second, time.Hour), 4, 50 * time.Second},
		{"unset policy", &api.ReschedulePolicy{}, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rescheduleDelay(tc.policy, withEvents(tc.events)); got != tc.want {
				t.Errorf("delay = %v, want %v", got, tc.want)
			}
		})
	}
}
