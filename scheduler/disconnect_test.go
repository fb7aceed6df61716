package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// disconnectWorld is a service job of one allocation, "orig", running on a
// node that then stops heartbeating.
type disconnectWorld struct {
	t    *testing.T
	h    *harness
	job  *api.Job
	orig string
	// evals counts the evaluations processed, for unique IDs.
	evals int
}

func newDisconnectWorld(t *testing.T, group func(*api.TaskGroup)) *disconnectWorld {
	t.Helper()
	h := newHarness(t)
	h.state.upsertNodes(makeNodes(3, nodeSpec{})...)
	job := testJob("dc", structs.JobTypeService, 1)
	if group != nil {
		group(job.TaskGroups[0])
	}
	h.runJob(job)
	running := h.runningAllocs(job)
	if len(running) != 1 {
		t.Fatalf("first run placed %d allocs, want 1", len(running))
	}
	// Without annotations, as a real evaluation: dry runs create no
	// follow-up evaluations.
	h.annotate = false
	w := &disconnectWorld{t: t, h: h, job: job, orig: running[0].ID}
	w.setRunning(w.orig, time.Now().Add(-time.Hour))
	return w
}

// alloc is the stored allocation.
func (w *disconnectWorld) alloc(id string) *api.Allocation { return w.h.state.allocs[id] }

// setRunning makes the client report the allocation running since then.
func (w *disconnectWorld) setRunning(id string, since time.Time) {
	a := *w.alloc(id)
	a.ClientStatus = structs.AllocClientStatusRunning
	a.TaskStates = map[string]*api.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: since}}
	w.h.state.upsertAllocs(&a)
}

// setScore sets the node score the allocation was placed with.
func (w *disconnectWorld) setScore(id string, score float64) {
	a := *w.alloc(id)
	a.Metrics = &api.AllocationMetric{ScoreMetaData: []*api.NodeScoreMeta{{NodeID: a.NodeID, NormScore: score}}}
	w.h.state.upsertAllocs(&a)
}

// setOrigNode changes the status of orig's node, as of at.
func (w *disconnectWorld) setOrigNode(status string, at time.Time) {
	n := *w.h.state.nodes[w.alloc(w.orig).NodeID]
	n.Status = status
	n.StatusUpdatedAt = at.Unix()
	w.h.state.upsertNodes(&n)
}

// evaluate processes eval, or a node-update evaluation when it is nil,
// and returns the plan it submitted (empty when none).
func (w *disconnectWorld) evaluate(eval *api.Evaluation) *structs.Plan {
	w.t.Helper()
	if eval == nil {
		w.evals++
		eval = registerEval(w.job)
		eval.ID = fmt.Sprintf("node-update-%d", w.evals)
		eval.TriggeredBy = structs.EvalTriggerNodeUpdate
	}
	plans := len(w.h.plans)
	w.h.process(structs.JobTypeService, eval)
	if len(w.h.plans) == plans {
		return &structs.Plan{}
	}
	return w.h.lastPlan()
}

// replacement is the allocation placed to replace orig, or nil.
func (w *disconnectWorld) replacement() *api.Allocation {
	for _, a := range w.h.state.allocs {
		if a.PreviousAllocation == w.orig {
			return a
		}
	}
	return nil
}

// live lists the IDs of the job's non-terminal allocations.
func (w *disconnectWorld) live() []string {
	var ids []string
	for _, a := range w.h.runningAllocs(w.job) {
		ids = append(ids, a.ID)
	}
	return ids
}

func lostAfter(d time.Duration, replace bool, reconcile string) func(*api.TaskGroup) {
	return func(tg *api.TaskGroup) {
		tg.Disconnect = &api.DisconnectStrategy{LostAfter: &d, Replace: &replace}
		if reconcile != "" {
			tg.Disconnect.Reconcile = &reconcile
		}
	}
}

// TestDisconnect covers the evaluation that follows a node's missed
// heartbeats: allocations of groups that tolerate disconnects go unknown
// (and are replaced when the group says so), the others are lost.
func TestDisconnect(t *testing.T) {
	maxClientDisconnect := func(tg *api.TaskGroup) { tg.MaxClientDisconnect = new(time.Hour) }
	neverReplace := func(tg *api.TaskGroup) { tg.Disconnect = &api.DisconnectStrategy{Replace: new(false)} }
	preventReschedule := func(tg *api.TaskGroup) { tg.PreventRescheduleOnLost = new(true) }
	cases := []struct {
		name         string
		group        func(*api.TaskGroup)
		nodeStatus   string // "disconnected" unless set
		wantStatus   string // orig's client status after the evaluation
		wantReplaced bool
		wantFollowup bool
	}{
		{"no setting, node down: lost and replaced", nil, structs.NodeStatusDown, structs.AllocClientStatusLost, true, false},
		{"replace false, node down: unknown only", neverReplace, structs.NodeStatusDown, structs.AllocClientStatusUnknown, false, false},
		{"prevent_reschedule_on_lost, node down: unknown only", preventReschedule, structs.NodeStatusDown, structs.AllocClientStatusUnknown, false, false},
		{"no setting: lost and replaced", nil, "", structs.AllocClientStatusLost, true, false},
		{"lost_after with replace: unknown and replaced", lostAfter(time.Hour, true, ""), "", structs.AllocClientStatusUnknown, true, true},
		{"lost_after without replace: unknown only", lostAfter(time.Hour, false, ""), "", structs.AllocClientStatusUnknown, false, false},
		{"max_client_disconnect: unknown and replaced", maxClientDisconnect, "", structs.AllocClientStatusUnknown, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newDisconnectWorld(t, tc.group)
			disconnectedAt := time.Now()
			w.setOrigNode(cmpOr(tc.nodeStatus, api.NodeStatusDisconnected), disconnectedAt)
			w.evaluate(nil)
			orig := w.alloc(w.orig)
			if orig.ClientStatus != tc.wantStatus {
				t.Errorf("orig client status %q, want %q", orig.ClientStatus, tc.wantStatus)
			}
			if stopped := structs.AllocServerTerminal(orig); stopped != (tc.wantStatus == structs.AllocClientStatusLost) {
				t.Errorf("orig desired status %q", orig.DesiredStatus)
			}
			repl := w.replacement()
			if (repl != nil) != tc.wantReplaced {
				t.Fatalf("replacement %v, want replaced %v", repl, tc.wantReplaced)
			}
			if repl != nil && repl.NodeID == orig.NodeID {
				t.Error("replacement placed on the disconnected node")
			}
			if tc.wantFollowup {
				wantDisconnectFollowup(t, w.h.created, disconnectedAt.Truncate(time.Second).Add(time.Hour))
			} else if len(w.h.created) != 0 {
				t.Errorf("created evals %+v, want none", w.h.created)
			}
			// A later evaluation while the node is still away changes nothing.
			plan := w.evaluate(nil)
			if !plan.IsNoOp() || len(w.h.created) > 1 {
				t.Errorf("second evaluation planned %d updates, %d allocs; %d evals created",
					len(plan.NodeUpdate), len(plan.NodeAllocation), len(w.h.created))
			}
		})
	}
}

func wantDisconnectFollowup(t *testing.T, created []*api.Evaluation, at time.Time) {
	t.Helper()
	if len(created) != 1 {
		t.Fatalf("created %d evals, want one follow-up", len(created))
	}
	f := created[0]
	if f.TriggeredBy != evalTriggerDisconnectTimeout || f.Status != structs.EvalStatusPending || !f.WaitUntil.Equal(at) {
		t.Errorf("follow-up eval %s %s wait until %v, want pending %s at %v", f.TriggeredBy, f.Status, f.WaitUntil, evalTriggerDisconnectTimeout, at)
	}
}

// TestDisconnectWindowOver covers unknown allocations whose node does not
// come back within lost_after: they become lost, their replacement
// keeping the slot. A group with replace = false never replaces them: they
// stay unknown until the node is back or they are stopped.
func TestDisconnectWindowOver(t *testing.T) {
	cases := []struct {
		name    string
		replace bool
		// expire ends the window: the follow-up evaluation once the time
		// has passed, or the node marked down.
		expire func(w *disconnectWorld) *api.Evaluation
	}{
		{"follow-up after lost_after, replaced", true, expireByFollowup},
		{"follow-up after lost_after, replace false", false, expireByFollowup},
		{"node down, replaced", true, expireByNodeDown},
		{"node down, replace false", false, expireByNodeDown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newDisconnectWorld(t, lostAfter(time.Hour, tc.replace, ""))
			w.setOrigNode(api.NodeStatusDisconnected, time.Now())
			w.evaluate(nil)
			before := w.replacement()
			plan := w.evaluate(tc.expire(w))
			orig := w.alloc(w.orig)
			if len(plan.NodeAllocation) != 0 {
				t.Errorf("placed or updated %v", plan.NodeAllocation)
			}
			if !tc.replace {
				if orig.ClientStatus != structs.AllocClientStatusUnknown || structs.AllocServerTerminal(orig) || before != nil {
					t.Errorf("orig %s/%s with replacement %v, want unknown and not replaced", orig.DesiredStatus, orig.ClientStatus, before)
				}
				return
			}
			if orig.ClientStatus != structs.AllocClientStatusLost || orig.DesiredDescription != allocLost {
				t.Errorf("orig %s %q, want lost", orig.ClientStatus, orig.DesiredDescription)
			}
			if live := w.live(); len(live) != 1 || live[0] != before.ID {
				t.Errorf("live allocs %v, want only the replacement %s", live, before.ID)
			}
		})
	}
}

// expireByFollowup sets the disconnect two hours back and returns the
// follow-up evaluation, or a node-update one when there is none.
func expireByFollowup(w *disconnectWorld) *api.Evaluation {
	w.setOrigNode(api.NodeStatusDisconnected, time.Now().Add(-2*time.Hour))
	if len(w.h.created) == 0 {
		return nil
	}
	return w.h.created[0]
}

func expireByNodeDown(w *disconnectWorld) *api.Evaluation {
	w.setOrigNode(structs.NodeStatusDown, time.Now())
	return nil
}

// TestReconnect covers the evaluation after a disconnected node heartbeats
// again: one of the original and its replacement keeps running, per the
// group's reconcile option, and the other stops.
func TestReconnect(t *testing.T) {
	cases := []struct {
		name      string
		reconcile string
		replace   bool
		// origScore and replScore are the placement scores; origSince and
		// replSince how long the tasks have been running.
		origScore, replScore float64
		origSince, replSince time.Duration
		// reported: the client reported the original running before the
		// evaluation.
		reported bool
		// replAway: the replacement's node is disconnected in turn.
		replAway bool
		keepOrig bool
	}{
		{name: "keep_original", reconcile: api.ReconcileOptionKeepOriginal, replace: true, origScore: 0.1, replScore: 0.9, keepOrig: true},
		{name: "keep_replacement", reconcile: api.ReconcileOptionKeepReplacement, replace: true, origScore: 0.9, replScore: 0.1},
		{name: "best_score keeps the original", reconcile: api.ReconcileOptionBestScore, replace: true, origScore: 0.9, replScore: 0.5, keepOrig: true},
		{name: "best_score keeps the replacement", reconcile: api.ReconcileOptionBestScore, replace: true, origScore: 0.2, replScore: 0.8},
		{name: "default is best_score", replace: true, origScore: 0.2, replScore: 0.8},
		{name: "longest_running keeps the original", reconcile: api.ReconcileOptionLongestRunning, replace: true, origSince: time.Hour, replSince: time.Minute, keepOrig: true},
		{name: "longest_running keeps the replacement", reconcile: api.ReconcileOptionLongestRunning, replace: true, origSince: time.Minute, replSince: 10 * time.Minute},
		{name: "client reported before the evaluation", reconcile: api.ReconcileOptionKeepOriginal, replace: true, reported: true, keepOrig: true},
		{name: "replacement's node away: original kept", reconcile: api.ReconcileOptionKeepReplacement, replace: true, replAway: true, keepOrig: true},
		{name: "no replacement: original restored", reconcile: api.ReconcileOptionKeepReplacement, replace: false, keepOrig: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newDisconnectWorld(t, lostAfter(time.Hour, tc.replace, tc.reconcile))
			w.setOrigNode(api.NodeStatusDisconnected, time.Now())
			w.evaluate(nil)
			repl := w.replacement()
			if (repl != nil) != tc.replace {
				t.Fatalf("replacement %v, want %v", repl, tc.replace)
			}
			if repl != nil {
				w.setRunning(repl.ID, time.Now().Add(-tc.replSince))
				w.setScore(repl.ID, tc.replScore)
			}
			if tc.replAway {
				n := *w.h.state.nodes[repl.NodeID]
				n.Status, n.StatusUpdatedAt = api.NodeStatusDisconnected, time.Now().Unix()
				w.h.state.upsertNodes(&n)
			}
			w.setScore(w.orig, tc.origScore)
			orig := *w.alloc(w.orig)
			orig.TaskStates = map[string]*api.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: time.Now().Add(-tc.origSince)}}
			if tc.reported {
				orig.ClientStatus = structs.AllocClientStatusRunning
			}
			w.h.state.upsertAllocs(&orig)
			w.setOrigNode(structs.NodeStatusReady, time.Now())

			w.evaluate(nil)
			wantKept(t, w, repl, tc.keepOrig)
			// The next evaluation leaves the survivor alone.
			if plan := w.evaluate(nil); !plan.IsNoOp() {
				t.Errorf("next evaluation planned %d updates, %d allocs", len(plan.NodeUpdate), len(plan.NodeAllocation))
			}
			wantKept(t, w, repl, tc.keepOrig)
		})
	}
}

// wantKept checks that exactly one allocation runs, orig when keepOrig,
// and that the other was stopped as not needed after the reconnect.
func wantKept(t *testing.T, w *disconnectWorld, repl *api.Allocation, keepOrig bool) {
	t.Helper()
	kept, loser := w.orig, ""
	if repl != nil {
		loser = repl.ID
	}
	if !keepOrig {
		kept, loser = repl.ID, w.orig
	}
	if live := w.live(); len(live) != 1 || live[0] != kept {
		t.Fatalf("live allocs %v, want only %s (orig %s)", live, kept, w.orig)
	}
	if a := w.alloc(kept); a.ClientStatus != structs.AllocClientStatusRunning {
		t.Errorf("survivor client status %q, want running", a.ClientStatus)
	}
	if loser == "" {
		return
	}
	if a := w.alloc(loser); a.DesiredStatus != structs.AllocDesiredStatusStop || a.DesiredDescription != allocReconnected {
		t.Errorf("loser %s %q, want stopped: %q", a.DesiredStatus, a.DesiredDescription, allocReconnected)
	}
}

// TestDisconnectAnnotations checks the counts `job plan` shows for a
// disconnect and a reconnect.
func TestDisconnectAnnotations(t *testing.T) {
	w := newDisconnectWorld(t, lostAfter(time.Hour, true, api.ReconcileOptionKeepOriginal))
	w.h.annotate = true
	w.setOrigNode(api.NodeStatusDisconnected, time.Now())
	d := w.evaluate(nil).Annotations.DesiredTGUpdates["web"]
	if d.Disconnect != 1 || d.Place != 1 {
		t.Errorf("disconnect: desired %+v, want 1 disconnect and 1 place", d)
	}
	w.setOrigNode(structs.NodeStatusReady, time.Now())
	d = w.evaluate(nil).Annotations.DesiredTGUpdates["web"]
	if d.Reconnect != 1 || d.Stop != 1 {
		t.Errorf("reconnect: desired %+v, want 1 reconnect and 1 stop", d)
	}
}

// TestSystemDisconnect covers a system job: the allocation of a
// disconnected node goes unknown and is not placed elsewhere, becomes
// running again when the node is back, and is lost at once without
// lost_after.
func TestSystemDisconnect(t *testing.T) {
	cases := []struct {
		name      string
		lostAfter time.Duration
		// want is the alloc's client status while its node is away.
		want string
	}{
		{"lost_after: unknown, then back", time.Hour, structs.AllocClientStatusUnknown},
		{"no setting: lost", 0, structs.AllocClientStatusLost},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.annotate = false
			nodes := makeNodes(3, nodeSpec{})
			h.state.upsertNodes(nodes...)
			job := testJob("sys", structs.JobTypeSystem, 1)
			if tc.lostAfter > 0 {
				lostAfter(tc.lostAfter, true, "")(job.TaskGroups[0])
			}
			h.runJob(job)
			var away *api.Allocation
			for _, a := range h.runningAllocs(job) {
				if a.NodeID == nodes[0].ID {
					away = a
				}
			}
			if away == nil || len(h.runningAllocs(job)) != 3 {
				t.Fatalf("first run placed %d allocs", len(h.runningAllocs(job)))
			}
			running := *away
			running.ClientStatus = structs.AllocClientStatusRunning
			running.TaskStates = map[string]*api.TaskState{"server": {State: structs.TaskStateRunning}}
			h.state.upsertAllocs(&running)
			setNode := func(status string) {
				n := *h.state.nodes[nodes[0].ID]
				n.Status, n.StatusUpdatedAt = status, time.Now().Unix()
				h.state.upsertNodes(&n)
				h.process(structs.JobTypeSystem, registerEval(job))
			}

			setNode(api.NodeStatusDisconnected)
			if got := h.state.allocs[away.ID].ClientStatus; got != tc.want {
				t.Errorf("client status while away %q, want %q", got, tc.want)
			}
			if len(h.state.allocs) != 3 {
				t.Errorf("%d allocs, want no replacement", len(h.state.allocs))
			}
			if tc.lostAfter == 0 {
				return
			}
			setNode(structs.NodeStatusReady)
			if a := h.state.allocs[away.ID]; a.ClientStatus != structs.AllocClientStatusRunning || structs.AllocServerTerminal(a) {
				t.Errorf("alloc back as %s/%s, want running", a.DesiredStatus, a.ClientStatus)
			}
		})
	}
}
