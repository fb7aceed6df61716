package scheduler

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestReconcile covers evaluations of a job that already has allocations:
// each case runs a first version of the job, changes the world, and checks
// the plan of the next evaluation.
func TestReconcile(t *testing.T) {
	cases := []struct {
		name    string
		jobType string
		count   int
		// change alters the state after the first run and returns the job
		// to evaluate (nil when it was purged).
		change func(h *harness, job *api.Job) *api.Job
		// check sees the plan's placements (new and in place) and stops; fresh
		// are the placements that create allocations.
		check   func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates)
		running int // non-terminal allocations after the evaluation
	}{
		{
			name: "scale down stops highest indexes", count: 5, running: 3,
			change: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) { j.TaskGroups[0].Count = new(3) })
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				wantNames(t, stopped, "scale.web[3]", "scale.web[4]")
				wantDesc(t, stopped, allocNotNeeded, "")
				if len(placed) != 3 || d.Stop != 2 || d.InPlaceUpdate != 3 {
					t.Errorf("placed %d, desired %+v", len(placed), d)
				}
			},
		},
		{
			name: "scale up fills the next indexes", count: 2, running: 4,
			change: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) { j.TaskGroups[0].Count = new(4) })
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				if len(stopped) != 0 || d.Place != 2 || d.InPlaceUpdate != 2 {
					t.Errorf("stopped %d, desired %+v", len(stopped), d)
				}
				wantNames(t, h.fresh(placed), "scale.web[2]", "scale.web[3]")
			},
		},
		{
			name: "job stop stops every alloc", count: 3, running: 0,
			change: func(h *harness, job *api.Job) *api.Job {
				j := cloneJob(job)
				j.Stop = new(true)
				return j
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, _ *api.DesiredUpdates) {
				wantNames(t, stopped, "scale.web[0]", "scale.web[1]", "scale.web[2]")
				wantDesc(t, stopped, allocNotNeeded, "")
			},
		},
		{
			name: "job purge stops every alloc", count: 2, running: 0,
			change: func(h *harness, job *api.Job) *api.Job {
				h.state.deleteJob(job)
				return nil
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, _ *api.DesiredUpdates) {
				wantNames(t, stopped, "scale.web[0]", "scale.web[1]")
				if h.lastPlan().Job != nil {
					t.Error("plan of a purged job carries a job")
				}
			},
		},
		{
			name: "meta change updates in place", count: 2, running: 2,
			change: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) { j.Meta = map[string]string{"owner": "ops"} })
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				if len(stopped) != 0 || len(h.fresh(placed)) != 0 || d.InPlaceUpdate != 2 {
					t.Fatalf("stopped %d, desired %+v", len(stopped), d)
				}
				for _, a := range placed {
					if a.Job.Meta["owner"] != "ops" {
						t.Errorf("alloc %s still runs the old job", a.Name)
					}
				}
			},
		},
		{
			name: "config change replaces allocs", count: 2, running: 2,
			change: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) {
					j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true"
					j.TaskGroups[0].Update.MaxParallel = new(2) // the whole group at once
				})
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				wantNames(t, stopped, "scale.web[0]", "scale.web[1]")
				wantDesc(t, stopped, allocUpdating, "")
				wantNames(t, h.fresh(placed), "scale.web[0]", "scale.web[1]")
				for i, a := range placed {
					if a.PreviousAllocation != stopped[i].ID {
						t.Errorf("alloc %s previous = %q, want %q", a.Name, a.PreviousAllocation, stopped[i].ID)
					}
				}
				if d.DestructiveUpdate != 2 {
					t.Errorf("desired %+v", d)
				}
			},
		},
		{
			name: "destructive update that cannot place keeps the old allocs", count: 2, running: 2,
			change: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) {
					j.TaskGroups[0].Tasks[0].Resources.MemoryMB = new(100_000)
					j.TaskGroups[0].Update.MaxParallel = new(2)
				})
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				if len(placed)+len(stopped) != 0 {
					t.Errorf("placed %v, stopped %v", namesOf(placed), namesOf(stopped))
				}
				e := h.lastEval()
				if m := e.FailedTGAllocs["web"]; m == nil || m.DimensionExhausted["memory"] != 4 || m.CoalescedFailures != 1 || e.BlockedEval == "" {
					t.Errorf("eval = %+v", e)
				}
			},
		},
		{
			name: "lost node allocs replaced", count: 3, running: 3,
			change: func(h *harness, job *api.Job) *api.Job {
				a := h.runningAllocs(job)[1]
				down := *h.state.nodes[a.NodeID]
				down.Status = structs.NodeStatusDown
				h.state.upsertNodes(&down)
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				if len(stopped) == 0 {
					t.Fatal("nothing stopped")
				}
				wantDesc(t, stopped, allocLost, structs.AllocClientStatusLost)
				if len(placed) != len(stopped) {
					t.Errorf("%d lost, %d replaced", len(stopped), len(placed))
				}
				for _, a := range placed {
					if h.state.nodes[a.NodeID].Status == structs.NodeStatusDown || a.PreviousAllocation == "" {
						t.Errorf("replacement %s on a down node or without previous", a.Name)
					}
				}
			},
		},
		{
			name: "batch completed allocs are not replaced", jobType: "batch", count: 2, running: 0,
			change: func(h *harness, job *api.Job) *api.Job {
				h.setClientStatus(job, structs.AllocClientStatusComplete, "scale.web[0]", "scale.web[1]")
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				if len(placed)+len(stopped) != 0 || d.Ignore != 2 {
					t.Errorf("placed %d, stopped %d, desired %+v", len(placed), len(stopped), d)
				}
			},
		},
		{
			name: "batch failed alloc rescheduled once", jobType: "batch", count: 1, running: 0,
			change: func(h *harness, job *api.Job) *api.Job {
				h.finishAllocs(job, structs.AllocClientStatusFailed, time.Now().Add(-time.Minute), "scale.web[0]")
				h.process("batch", registerEval(job))
				placed := planAllocs(h.lastPlan())
				if len(placed) != 1 || placed[0].RescheduleTracker == nil || len(placed[0].RescheduleTracker.Events) != 1 {
					h.t.Fatalf("failed alloc not rescheduled: %+v", placed)
				}
				h.finishAllocs(job, structs.AllocClientStatusFailed, time.Now().Add(-time.Minute), "scale.web[0]")
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				if len(placed) != 0 {
					t.Errorf("second failure rescheduled again: %d placed", len(placed))
				}
			},
		},
		{
			name: "service failed alloc replaced after its delay", count: 2, running: 2,
			change: func(h *harness, job *api.Job) *api.Job {
				h.finishAllocs(job, structs.AllocClientStatusFailed, time.Now().Add(-time.Minute), "scale.web[1]")
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				wantNames(t, placed, "scale.web[1]")
				wantDesc(t, stopped, allocRescheduled, "")
				if d.RescheduleNow != 1 || placed[0].PreviousAllocation != stopped[0].ID {
					t.Errorf("desired %+v", d)
				}
			},
		},
		{
			name: "service failed alloc rescheduled later by a follow-up eval", count: 2, running: 2,
			change: func(h *harness, job *api.Job) *api.Job {
				h.annotate = false
				h.setClientStatus(job, structs.AllocClientStatusFailed, "scale.web[1]")
				h.markExisting(job)
				h.process("service", registerEval(job))
				if placed := h.fresh(planAllocs(h.lastPlan())); len(placed) != 0 || len(h.created) != 1 {
					h.t.Fatalf("placed %d, created %d evals; want the replacement delayed", len(placed), len(h.created))
				}
				f := h.created[0]
				if f.TriggeredBy != structs.EvalTriggerRetryFailedAlloc || f.Status != structs.EvalStatusPending ||
					time.Until(f.WaitUntil) < 20*time.Second {
					h.t.Errorf("follow-up eval = %+v", f)
				}
				if failed := planAllocs(h.lastPlan()); len(failed) != 1 || failed[0].FollowupEvalID != f.ID {
					h.t.Errorf("failed alloc not pointed at follow-up %s: %+v", f.ID, failed)
				}
				h.process("service", registerEval(job)) // no second follow-up
				if len(h.created) != 1 {
					h.t.Errorf("%d follow-up evals, want 1", len(h.created))
				}
				h.followup = f
				return job
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				wantNames(t, placed, "scale.web[1]")
				wantDesc(t, stopped, allocRescheduled, "")
			},
		},
		{
			name: "removed group stopped", count: 1, running: 1,
			change: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) {
					g := api.NewTaskGroup("api", 1).AddTask(api.NewTask("server", "raw_exec"))
					g.Canonicalize(j)
					j.TaskGroups = []*api.TaskGroup{g}
				})
			},
			check: func(t *testing.T, h *harness, placed, stopped []*api.Allocation, d *api.DesiredUpdates) {
				wantNames(t, stopped, "scale.web[0]")
				wantNames(t, placed, "scale.api[0]")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(makeNodes(4, nodeSpec{})...)
			jobType := cmpOr(tc.jobType, "service")
			job := testJob("scale", jobType, tc.count)
			h.runJob(job)
			if got := len(h.runningAllocs(job)); got != tc.count {
				t.Fatalf("first run placed %d, want %d", got, tc.count)
			}
			next := tc.change(h, job)
			h.markExisting(job)
			plans := len(h.plans)
			eval := registerEval(job)
			if next != nil {
				h.state.upsertJob(next)
				eval = registerEval(next)
			}
			if h.followup != nil {
				eval = h.followup
			}
			h.process(jobType, eval)
			if len(h.plans) == plans {
				h.plans = append(h.plans, &structs.Plan{})
			}
			plan := h.lastPlan()
			d := &api.DesiredUpdates{}
			if plan.Annotations != nil && plan.Annotations.DesiredTGUpdates["web"] != nil {
				d = plan.Annotations.DesiredTGUpdates["web"]
			}
			tc.check(t, h, planAllocs(plan), planStops(plan), d)
			if got := len(h.runningAllocs(job)); got != tc.running {
				t.Errorf("%d allocs running after the evaluation, want %d", got, tc.running)
			}
			if s := h.lastEval().Status; s != structs.EvalStatusComplete {
				t.Errorf("eval status %q", s)
			}
		})
	}
}

func wantNames(t *testing.T, allocs []*api.Allocation, names ...string) {
	t.Helper()
	if len(allocs) != len(names) {
		t.Fatalf("got %d allocs %v, want %v", len(allocs), namesOf(allocs), names)
	}
	for i, a := range allocs {
		if a.Name != names[i] {
			t.Errorf("alloc %d = %q, want %q", i, a.Name, names[i])
		}
	}
}

func namesOf(allocs []*api.Allocation) []string {
	var out []string
	for _, a := range allocs {
		out = append(out, a.Name)
	}
	return out
}

func wantDesc(t *testing.T, stopped []*api.Allocation, desc, clientStatus string) {
	t.Helper()
	for _, a := range stopped {
		if a.DesiredStatus != structs.AllocDesiredStatusStop || a.DesiredDescription != desc {
			t.Errorf("alloc %s desired %q %q, want stop %q", a.Name, a.DesiredStatus, a.DesiredDescription, desc)
		}
		if clientStatus != "" && a.ClientStatus != clientStatus {
			t.Errorf("alloc %s client status %q, want %q", a.Name, a.ClientStatus, clientStatus)
		}
	}
}
