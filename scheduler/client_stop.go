package scheduler

import (
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// clientStopEvalDesc describes an evaluation created to replace lost
// allocations once their client has stopped them.
const clientStopEvalDesc = "created for delayed replacement of lost allocs stopped by their client"

// clientStopAfter is how long a client that cannot reach the servers
// keeps the group's allocations running before it stops them: the
// disconnect block's stop_on_client_after, else the older
// stop_after_client_disconnect. The servers mark such allocations lost at
// once but wait that long before replacing them, so that the group never
// runs twice.
func clientStopAfter(tg *api.TaskGroup) time.Duration {
	if ds := tg.Disconnect; ds != nil && deref(ds.StopOnClientAfter) > 0 {
		return *ds.StopOnClientAfter
	}
	return max(deref(tg.StopAfterClientDisconnect), 0)
}

// awaitingClientStop reports whether a lost allocation still holds its
// slot because its client may not have stopped it yet: it was marked lost
// less than stopAfter ago and the evaluation is not the follow-up that
// replaces it.
func (r *reconciler) awaitingClientStop(a *api.Allocation, stopAfter time.Duration, replaced map[string]bool) bool {
	if stopAfter <= 0 || replaced[a.ID] || a.ClientStatus != structs.AllocClientStatusLost ||
		!structs.AllocServerTerminal(a) || a.FollowupEvalID == "" || a.FollowupEvalID == r.evalID {
		return false
	}
	return r.now.Before(time.Unix(0, a.ModifyTime).Add(stopAfter))
}

// planLostLater marks allocations lost and creates (in run.followups) the
// evaluations that replace them once their client has stopped them, one
// per batch of allocations due close together.
func (run *evalRun) planLostLater(later []delayedReschedule) {
	slices.SortFunc(later, func(a, b delayedReschedule) int { return a.at.Compare(b.at) })
	var current *api.Evaluation
	var start time.Time
	for _, l := range later {
		if current == nil || l.at.Sub(start) > followupBatchWindow {
			current, start = run.followupEval(l.at, structs.EvalTriggerNodeUpdate, clientStopEvalDesc), l.at
			run.followups = append(run.followups, current)
		}
		current.WaitUntil = l.at
		lost := *l.alloc
		lost.FollowupEvalID = current.ID
		lost.ModifyTime = run.now.UnixNano()
		run.stopAlloc(&lost, allocLost, structs.AllocClientStatusLost)
	}
}
