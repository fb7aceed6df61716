package scheduler

import (
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// followupEvalDesc describes an evaluation created to reschedule failed
// allocations after their delay, as Nomad words it.
const followupEvalDesc = "created for delayed rescheduling"

// followupBatchWindow groups delayed reschedules due within this window
// into one follow-up evaluation.
const followupBatchWindow = 5 * time.Second

// delayedReschedule is a failed allocation to reschedule at a later time.
type delayedReschedule struct {
	alloc *api.Allocation
	at    time.Time
}

// rescheduleSlot decides what becomes of a failed allocation's slot:
// replaced now, replaced by a later evaluation once the policy's delay is
// over, or kept failed when the policy allows no more attempts.
func (r *reconciler) rescheduleSlot(tg *api.TaskGroup, a *api.Allocation, index int, d *api.DesiredUpdates) slot {
	policy := tg.ReschedulePolicy
	if policy == nil {
		policy = api.NewDefaultReschedulePolicy(jobType(r.job))
	}
	force := deref(a.DesiredTransition.ForceReschedule)
	if !force && !r.attemptsLeft(policy, a) {
		return slot{index: index}
	}
	at := failTime(a).Add(rescheduleDelay(policy, a))
	due := force || !at.After(r.now) || (a.FollowupEvalID != "" && a.FollowupEvalID == r.evalID)
	if !due {
		if a.FollowupEvalID == "" {
			r.result.later = append(r.result.later, delayedReschedule{alloc: a, at: at})
		}
		d.RescheduleLater++
		return slot{index: index}
	}
	d.RescheduleNow++
	return slot{index: index, place: &placement{
		group: tg, name: a.Name, previous: a, reschedule: true, stopDesc: allocRescheduled,
	}}
}

// attemptsLeft reports whether the policy allows another reschedule of a
// within its interval.
func (r *reconciler) attemptsLeft(policy *api.ReschedulePolicy, a *api.Allocation) bool {
	if deref(policy.Unlimited) {
		return true
	}
	attempts := deref(policy.Attempts)
	if attempts <= 0 {
		return false
	}
	since := r.now.Add(-deref(policy.Interval)).UnixNano()
	recent := 0
	for _, e := range rescheduleEvents(a) {
		if e != nil && e.RescheduleTime >= since {
			recent++
		}
	}
	return recent < attempts
}

func rescheduleEvents(a *api.Allocation) []*api.RescheduleEvent {
	if a.RescheduleTracker == nil {
		return nil
	}
	return a.RescheduleTracker.Events
}

// failTime is when the allocation's last task finished, or its last
// modification when no task reports it.
func failTime(a *api.Allocation) time.Time {
	var last time.Time
	for _, ts := range a.TaskStates {
		if ts != nil && ts.FinishedAt.After(last) {
			last = ts.FinishedAt
		}
	}
	if last.IsZero() && a.ModifyTime > 0 {
		last = time.Unix(0, a.ModifyTime)
	}
	return last
}

// rescheduleDelay is how long after failing the allocation is replaced:
// the policy's delay, grown by its delay function with each earlier
// reschedule and capped at its max delay.
func rescheduleDelay(policy *api.ReschedulePolicy, a *api.Allocation) time.Duration {
	base := deref(policy.Delay)
	ceiling := deref(policy.MaxDelay)
	n := len(rescheduleEvents(a))
	delay := base
	switch deref(policy.DelayFunction) {
	case "exponential":
		for i := 0; i < n && (ceiling <= 0 || delay < ceiling); i++ {
			delay *= 2
		}
	case "fibonacci":
		prev := base
		for i := 1; i < n && (ceiling <= 0 || delay < ceiling); i++ {
			prev, delay = delay, delay+prev
		}
	}
	if ceiling > 0 && delay > ceiling {
		delay = ceiling
	}
	return delay
}

// planFollowups creates (in run.followups) the evaluations that will
// reschedule failed allocations once their delay is over, one per batch of
// allocations due close together, and points each allocation at its
// evaluation.
func (run *evalRun) planFollowups(later []delayedReschedule) {
	slices.SortFunc(later, func(a, b delayedReschedule) int { return a.at.Compare(b.at) })
	var current *api.Evaluation
	var start time.Time
	for _, l := range later {
		if current == nil || l.at.Sub(start) > followupBatchWindow {
			current, start = run.followupEval(l.at, structs.EvalTriggerRetryFailedAlloc, followupEvalDesc), l.at
			run.followups = append(run.followups, current)
		}
		current.WaitUntil = l.at
		updated := *l.alloc
		updated.FollowupEvalID = current.ID
		run.plan.AppendAlloc(&updated)
	}
}

// followupEval is a pending evaluation of the job that waits until at.
func (run *evalRun) followupEval(at time.Time, trigger, desc string) *api.Evaluation {
	eval := run.eval
	now := run.now.UnixNano()
	return &api.Evaluation{
		ID:                newUUID(run.s.opts.Rand),
		Namespace:         eval.Namespace,
		Priority:          eval.Priority,
		Type:              eval.Type,
		TriggeredBy:       trigger,
		JobID:             eval.JobID,
		JobModifyIndex:    eval.JobModifyIndex,
		Status:            structs.EvalStatusPending,
		StatusDescription: desc,
		PreviousEval:      eval.ID,
		WaitUntil:         at,
		CreateTime:        now,
		ModifyTime:        now,
	}
}
