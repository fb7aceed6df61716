package scheduler

import (
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// Descriptions and triggers of client-disconnect handling, as Nomad words
// them.
const (
	allocUnknown     = "alloc is unknown since its node is disconnected"
	allocReconnected = "alloc not needed due to disconnected client reconnect"

	disconnectEvalDesc           = "created for delayed disconnect timeout"
	evalTriggerDisconnectTimeout = "max-disconnect-timeout"
)

// disconnectPolicy is what a group asks for when its node stops
// heartbeating: its disconnect block, or the older max_client_disconnect
// and prevent_reschedule_on_lost fields.
type disconnectPolicy struct {
	// lostAfter is how long allocations of a disconnected node stay
	// "unknown" before they are lost; zero means they are lost at once.
	lostAfter time.Duration
	// replace places a replacement while the original is unknown; when
	// false the original stays unknown, never lost nor replaced, until its
	// node is back or it is stopped.
	replace bool
	// reconcile picks the survivor when the node comes back.
	reconcile string
}

// disconnectPolicyOf reads the group's policy, with Nomad's defaults
// (replace, best_score).
func disconnectPolicyOf(tg *api.TaskGroup) disconnectPolicy {
	p := disconnectPolicy{replace: true, reconcile: api.ReconcileOptionBestScore}
	if ds := tg.Disconnect; ds != nil {
		if ds.Replace != nil {
			p.replace = *ds.Replace
		}
		if r := deref(ds.Reconcile); r != "" {
			p.reconcile = r
		}
	} else if tg.PreventRescheduleOnLost != nil {
		p.replace = !*tg.PreventRescheduleOnLost
	}
	p.lostAfter = LostAfter(tg)
	return p
}

// LostAfter is how long the group's allocations on a node that stopped
// heartbeating stay "unknown" before they are lost: its disconnect
// block's lost_after, else its max_client_disconnect. Zero means they are
// lost at once.
func LostAfter(tg *api.TaskGroup) time.Duration {
	if ds := tg.Disconnect; ds != nil && deref(ds.LostAfter) > 0 {
		return *ds.LostAfter
	}
	return max(deref(tg.MaxClientDisconnect), 0)
}

// disconnectDeadline is when allocations on a disconnected node become
// lost: the node's status change plus the window.
func disconnectDeadline(node *api.Node, window time.Duration) time.Time {
	return time.Unix(node.StatusUpdatedAt, 0).Add(window)
}

// pendingDisconnect is a live allocation to mark unknown, with the time
// it becomes lost unless its node comes back (zero: never).
type pendingDisconnect struct {
	alloc    *api.Allocation
	deadline time.Time
}

// splitDisconnected handles a group's allocations whose node is away
// (disconnected, down or gone) and which the group keeps unknown rather
// than lost, or which were unknown or replaced while their node was away
// and whose node is back. It returns the slots those allocations keep and
// the allocations left for classify, which treats the rest of those on
// nodes away as lost.
func (r *reconciler) splitDisconnected(tg *api.TaskGroup, allocs []*api.Allocation, d *api.DesiredUpdates) ([]slot, []*api.Allocation) {
	policy := disconnectPolicyOf(tg)
	replacements := liveReplacements(allocs)
	consumed := make(map[string]bool)
	var slots []slot
	// Reconnects first: a replacement whose own node is away is then
	// already settled by its original's reconnect.
	ordered := slices.Clone(allocs)
	slices.SortStableFunc(ordered, func(a, b *api.Allocation) int {
		awayA, awayB := r.nodeLost(a), r.nodeLost(b)
		switch {
		case awayA == awayB:
			return 0
		case awayB:
			return -1
		}
		return 1
	})
	for _, a := range ordered {
		if consumed[a.ID] || structs.AllocTerminal(a) {
			continue
		}
		repl := replacements[a.ID]
		switch {
		case !r.nodeLost(a):
			if a.ClientStatus != structs.AllocClientStatusUnknown && repl == nil {
				continue
			}
			if r.reconnect(a, repl, policy, d) == a {
				slots = append(slots, r.reconnectedSlot(a))
				if repl != nil {
					consumed[repl.ID] = true
				}
			}
		case r.withinWindow(a, policy):
			slots = append(slots, r.disconnectedSlot(tg, a, policy, repl != nil, d)...)
		case repl != nil:
			// Lost for good; its replacement holds the slot.
			r.stop(a, allocLost, structs.AllocClientStatusLost)
			d.Stop++
		default:
			continue
		}
		consumed[a.ID] = true
	}
	rest := make([]*api.Allocation, 0, len(allocs))
	for _, a := range allocs {
		if !consumed[a.ID] {
			rest = append(rest, a)
		}
	}
	return slots, rest
}

// withinWindow reports whether an allocation on a node away stays
// unknown rather than lost: its node is disconnected and lost_after is
// not over, or the group never replaces (replace = false), which keeps
// it unknown until the node is back or the allocation is stopped.
func (r *reconciler) withinWindow(a *api.Allocation, policy disconnectPolicy) bool {
	if !policy.replace {
		return true
	}
	node := r.nodes[a.NodeID]
	return node != nil && node.Status == api.NodeStatusDisconnected && policy.lostAfter > 0 &&
		r.now.Before(disconnectDeadline(node, policy.lostAfter))
}

// reconnectedSlot is the slot of a reconnected allocation that keeps
// running, with its client status restored (and written by the plan) when
// it was unknown.
func (r *reconciler) reconnectedSlot(a *api.Allocation) slot {
	restored := restoreStatus(a)
	if restored != a {
		r.restored[a.ID] = true
	}
	return slot{index: allocIndex(a.Name), live: restored}
}

// disconnectedSlot handles an allocation that stays unknown while its
// node is away: it is marked unknown and, when the group asks for it,
// replaced elsewhere. It keeps its slot unless a replacement holds it.
func (r *reconciler) disconnectedSlot(tg *api.TaskGroup, a *api.Allocation, policy disconnectPolicy, replaced bool, d *api.DesiredUpdates) []slot {
	if a.ClientStatus != structs.AllocClientStatusUnknown {
		var deadline time.Time
		if node := r.nodes[a.NodeID]; policy.replace && node != nil {
			deadline = disconnectDeadline(node, policy.lostAfter)
		}
		r.result.disconnects = append(r.result.disconnects, pendingDisconnect{alloc: a, deadline: deadline})
		d.Disconnect++
	}
	index := allocIndex(a.Name)
	switch {
	case replaced:
		return nil
	case policy.replace:
		d.Place++
		return []slot{{index: index, place: &placement{group: tg, name: a.Name, previous: a}}}
	default:
		d.Ignore++
		return []slot{{index: index}}
	}
}

// reconnect decides, for an allocation whose node came back, which of it
// and its replacement (nil when there is none) keeps running, stops the
// other and returns the survivor.
func (r *reconciler) reconnect(original, repl *api.Allocation, policy disconnectPolicy, d *api.DesiredUpdates) *api.Allocation {
	d.Reconnect++
	if repl == nil || r.keepOriginal(original, repl, policy.reconcile) {
		if repl != nil {
			r.stop(repl, allocReconnected, "")
			d.Stop++
		}
		return original
	}
	r.stop(original, allocReconnected, "")
	d.Stop++
	return repl
}

// keepOriginal applies the group's reconcile option. A replacement whose
// own node is not ready never wins; ties go to the original.
func (r *reconciler) keepOriginal(original, repl *api.Allocation, option string) bool {
	if n := r.nodes[repl.NodeID]; n == nil || n.Status != structs.NodeStatusReady {
		return true
	}
	switch option {
	case api.ReconcileOptionKeepReplacement:
		return false
	case api.ReconcileOptionKeepOriginal:
		return true
	case api.ReconcileOptionLongestRunning:
		o, rp := runningSince(original), runningSince(repl)
		return rp.IsZero() || (!o.IsZero() && !rp.Before(o))
	default: // best_score
		return placementScore(r.full(original)) >= placementScore(r.full(repl))
	}
}

// liveReplacements maps an allocation ID to the live allocation that
// replaces it.
func liveReplacements(allocs []*api.Allocation) map[string]*api.Allocation {
	out := make(map[string]*api.Allocation)
	for _, a := range allocs {
		if a.PreviousAllocation != "" && !structs.AllocTerminal(a) {
			out[a.PreviousAllocation] = a
		}
	}
	return out
}

// restoreStatus is a reconnected allocation as its client last reported
// it: an "unknown" one is running when one of its tasks was, else
// pending, until the client says otherwise. Others are returned as is.
func restoreStatus(a *api.Allocation) *api.Allocation {
	if a.ClientStatus != structs.AllocClientStatusUnknown {
		return a
	}
	restored := *a
	restored.ClientStatus = structs.AllocClientStatusPending
	restored.ClientDescription = ""
	for _, ts := range a.TaskStates {
		if ts != nil && ts.State == structs.TaskStateRunning {
			restored.ClientStatus = structs.AllocClientStatusRunning
		}
	}
	return &restored
}

// runningSince is when the allocation's tasks have all been running since,
// or zero when one of them is not running.
func runningSince(a *api.Allocation) time.Time {
	var since time.Time
	for _, ts := range a.TaskStates {
		if ts == nil || ts.State != structs.TaskStateRunning || ts.StartedAt.IsZero() {
			return time.Time{}
		}
		if ts.StartedAt.After(since) {
			since = ts.StartedAt
		}
	}
	return since
}

// full is a with its placement metric.
func (r *reconciler) full(a *api.Allocation) *api.Allocation {
	if r.withMetrics == nil {
		return a
	}
	return r.withMetrics(a)
}

// placementScore is the normalized score the allocation's node got when
// it was placed, or -1 when the placement metric does not say.
func placementScore(a *api.Allocation) float64 {
	if a.Metrics == nil {
		return -1
	}
	for _, m := range a.Metrics.ScoreMetaData {
		if m != nil && m.NodeID == a.NodeID {
			return m.NormScore
		}
	}
	return -1
}

// planDisconnects marks allocations of disconnected nodes unknown and
// creates (in run.followups) one evaluation per deadline, which marks
// them lost if their node has not come back by then.
func (run *evalRun) planDisconnects(pending []pendingDisconnect) {
	byDeadline := make(map[time.Time]bool)
	for _, p := range pending {
		updated := *p.alloc
		updated.ClientStatus = structs.AllocClientStatusUnknown
		updated.ClientDescription = allocUnknown
		updated.EvalID = run.eval.ID
		updated.ModifyTime = run.now.UnixNano()
		run.plan.AppendAlloc(&updated)
		if !p.deadline.IsZero() && !byDeadline[p.deadline] {
			byDeadline[p.deadline] = true
			run.followups = append(run.followups, run.followupEval(p.deadline, evalTriggerDisconnectTimeout, disconnectEvalDesc))
		}
	}
}

// systemDisconnect handles a system allocation whose node is disconnected
// or came back: one on a disconnected node of a group that tolerates it
// is marked unknown and holds its node (held); a reconnected unknown one
// is returned with its status restored. System allocations are never
// replaced on another node.
func (r *reconciler) systemDisconnect(tg *api.TaskGroup, a *api.Allocation, d *api.DesiredUpdates) (*api.Allocation, bool) {
	node := r.nodes[a.NodeID]
	if node == nil || structs.AllocClientTerminal(a) {
		return a, false
	}
	switch policy := disconnectPolicyOf(tg); {
	case node.Status == api.NodeStatusDisconnected && policy.lostAfter > 0:
		deadline := disconnectDeadline(node, policy.lostAfter)
		if !r.now.Before(deadline) {
			return a, false // lost
		}
		if a.ClientStatus != structs.AllocClientStatusUnknown {
			r.result.disconnects = append(r.result.disconnects, pendingDisconnect{alloc: a, deadline: deadline})
			d.Disconnect++
		}
		return a, true
	case node.Status == structs.NodeStatusReady && a.ClientStatus == structs.AllocClientStatusUnknown:
		d.Reconnect++
		r.restored[a.ID] = true
		return restoreStatus(a), false
	}
	return a, false
}
