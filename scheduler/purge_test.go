package scheduler

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestJobOfSameIDAfterPurge covers a job registered again with the ID of a
// purged one whose allocations are still in the state (the purge's own
// evaluation may run after the new registration's): the old allocations,
// told apart by their job's create index, are stopped and never count, so
// the new job places its whole count at once instead of adopting them or
// waiting out the reschedule delay of a failed one.
func TestJobOfSameIDAfterPurge(t *testing.T) {
	cases := []struct {
		name string
		// prepare changes the old job's allocations before the purge.
		prepare func(h *harness, old *api.Job)
		// wantStops maps each old allocation name to the client status its
		// stop must write ("" keeps the client's).
		wantStops map[string]string
	}{
		{
			name:      "running allocations",
			prepare:   func(h *harness, old *api.Job) {},
			wantStops: map[string]string{"web.web[0]": "", "web.web[1]": ""},
		},
		{
			name: "a failed allocation is not rescheduled for the new job",
			prepare: func(h *harness, old *api.Job) {
				h.setClientStatus(old, structs.AllocClientStatusFailed, "web.web[0]")
			},
			wantStops: map[string]string{"web.web[0]": "", "web.web[1]": ""},
		},
		{
			name: "allocations on a down node are lost",
			prepare: func(h *harness, old *api.Job) {
				for _, a := range h.runningAllocs(old) {
					if a.Name == "web.web[1]" {
						down := *h.state.nodes[a.NodeID]
						down.Status = structs.NodeStatusDown
						h.state.upsertNodes(&down)
					}
				}
			},
			wantStops: map[string]string{"web.web[0]": "", "web.web[1]": structs.AllocClientStatusLost},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(makeNodes(4, nodeSpec{})...)
			old := testJob("web", structs.JobTypeService, 2)
			old.CreateIndex = new(uint64(10))
			h.runJob(old)
			tc.prepare(h, old)
			h.markExisting(old)

			again := testJob("web", structs.JobTypeService, 2)
			again.CreateIndex = new(uint64(50))
			h.runJob(again)

			plan := h.lastPlan()
			placed := h.fresh(planAllocs(plan))
			if len(placed) != 2 {
				t.Fatalf("placed %d new allocations, want 2", len(placed))
			}
			for _, a := range placed {
				if deref(a.Job.CreateIndex) != 50 || a.PreviousAllocation != "" {
					t.Errorf("placement %s: job create index %d, previous %q; want the new job's, no previous", a.Name, deref(a.Job.CreateIndex), a.PreviousAllocation)
				}
			}
			stops := planStops(plan)
			if len(stops) != len(tc.wantStops) {
				t.Fatalf("stopped %v, want %v", namesOf(stops), tc.wantStops)
			}
			for _, a := range stops {
				want, ok := tc.wantStops[a.Name]
				if !ok || !h.existing[a.ID] {
					t.Errorf("stopped %s (%s), not one of the old job's", a.Name, a.ID)
					continue
				}
				wantDesc(t, []*api.Allocation{a}, map[bool]string{true: allocLost, false: allocNotNeeded}[want == structs.AllocClientStatusLost], want)
			}
			if len(h.created) != 0 {
				t.Errorf("created %d evaluations (a reschedule later?), want none", len(h.created))
			}
			if e := h.lastEval(); e.Status != structs.EvalStatusComplete || len(e.FailedTGAllocs) != 0 {
				t.Errorf("eval status %q, failed groups %v", e.Status, e.FailedTGAllocs)
			}
		})
	}
}

// TestStoppedJobMarksFinishedAllocsForStop checks that stopping a job marks
// its failed and complete allocations for stop as well as its running
// ones, so that running a changed version afterwards places at once rather
// than rescheduling the failed one after its delay.
func TestStoppedJobMarksFinishedAllocsForStop(t *testing.T) {
	h := newHarness(t)
	h.state.upsertNodes(makeNodes(3, nodeSpec{})...)
	job := testJob("web", structs.JobTypeService, 3)
	h.runJob(job)
	h.setClientStatus(job, structs.AllocClientStatusFailed, "web.web[0]")
	h.setClientStatus(job, structs.AllocClientStatusComplete, "web.web[1]")

	stopped := cloneJob(job)
	stopped.Stop = new(true)
	stopped.Version = new(uint64(1))
	h.runJob(stopped)
	stops := planStops(h.lastPlan())
	wantNames(t, stops, "web.web[0]", "web.web[1]", "web.web[2]")
	wantDesc(t, stops, allocNotNeeded, "")
	if d := h.lastPlan().Annotations.DesiredTGUpdates["web"]; d.Stop != 1 {
		t.Errorf("desired stops %d, want 1 (only the running allocation)", d.Stop)
	}

	changed := nextVersion(stopped, func(j *api.Job) {
		j.Stop = new(false)
		j.TaskGroups[0].Tasks[0].Config["args"] = []string{"60"}
	})
	h.markExisting(changed)
	h.runJob(changed)
	placed := h.fresh(planAllocs(h.lastPlan()))
	wantNames(t, placed, "web.web[0]", "web.web[1]", "web.web[2]")
	if len(h.created) != 0 {
		t.Errorf("created %d evaluations, want none", len(h.created))
	}
}

// TestPurgedJobCancelsActiveDeployment checks that the evaluation of a
// purged job cancels a deployment still running, as for a stopped job.
func TestPurgedJobCancelsActiveDeployment(t *testing.T) {
	cases := []struct {
		name       string
		status     string
		wantCancel bool
	}{
		{"running deployment is cancelled", structs.DeploymentStatusRunning, true},
		{"paused deployment is cancelled", structs.DeploymentStatusPaused, true},
		{"finished deployment is left", structs.DeploymentStatusSuccessful, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(makeNodes(2, nodeSpec{})...)
			job := testJob("web", structs.JobTypeService, 1)
			h.runJob(job)
			h.state.deployments[jobKey("default", "web")] = &api.Deployment{ID: "d1", Namespace: "default", JobID: "web", Status: tc.status}
			h.state.deleteJob(job)
			h.process(structs.JobTypeService, registerEval(job))
			got := h.state.deployments[jobKey("default", "web")]
			cancelled := got.Status == structs.DeploymentStatusCancelled && got.StatusDescription == structs.DeploymentDescStoppedJob
			if cancelled != tc.wantCancel {
				t.Errorf("deployment %s (%q), want cancelled: %v", got.Status, got.StatusDescription, tc.wantCancel)
			}
		})
	}
}
