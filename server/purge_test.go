package server

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// slowRescheduleJob is testJob("web", count) whose failed allocations
// would wait an hour before being rescheduled: a test that sees a
// placement in seconds knows no reschedule delay held it.
func slowRescheduleJob(count int) *api.Job {
	job := testJob("web", count, 128)
	job.TaskGroups[0].ReschedulePolicy = &api.ReschedulePolicy{
		Unlimited: ptr(true), Delay: ptr(time.Hour), DelayFunction: ptr("constant"),
	}
	job.Canonicalize()
	return job
}

// reportStatus plays the client: it reports allocations with a status.
func reportStatus(t *testing.T, s *Server, status string, allocs ...*api.Allocation) {
	t.Helper()
	var updates []*api.Allocation
	for _, a := range allocs {
		updates = append(updates, &api.Allocation{ID: a.ID, ClientStatus: status,
			TaskStates: map[string]*api.TaskState{"server": {State: "dead", Failed: status == structs.AllocClientStatusFailed, FinishedAt: time.Now()}}})
	}
	if err := s.UpdateAllocations(updates); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeThenRegisterPlacesAtOnce is issue 17: `job stop -purge` and at
// once `job run` of the same job places the new job's allocations without
// adopting the purged job's, failed or running, and without waiting for a
// reschedule delay; every allocation of the purged job is marked for stop.
func TestPurgeThenRegisterPlacesAtOnce(t *testing.T) {
	cases := []struct {
		name string
		// before plays the client before the purge.
		before func(t *testing.T, s *Server, allocs []*api.Allocation)
	}{
		{"running allocations", func(*testing.T, *Server, []*api.Allocation) {}},
		{"a failed allocation", func(t *testing.T, s *Server, allocs []*api.Allocation) {
			reportStatus(t, s, structs.AllocClientStatusFailed, allocs[0])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Minute)
			if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
				t.Fatal(err)
			}
			mustRegister(t, s, slowRescheduleJob(2))
			waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 2 })
			old := liveAllocs(t, s, "web")
			tc.before(t, s, old)
			if _, _, err := s.DeregisterJob("", "default", "web", true); err != nil {
				t.Fatal(err)
			}
			res := mustRegister(t, s, slowRescheduleJob(2))
			job, _ := s.State().Snapshot().JobByID("default", "web")
			if *job.Version != 0 {
				t.Errorf("new job version %d, want 0", *job.Version)
			}
			waitFor(t, "the new job's own allocations", func() bool {
				own := 0
				for _, a := range liveAllocs(t, s, "web") {
					if *a.Job.CreateIndex == *job.CreateIndex {
						own++
					}
				}
				return own == 2
			})
			for _, a := range old {
				got := allocByID(s, a.ID)
				if got.DesiredStatus != structs.AllocDesiredStatusStop {
					t.Errorf("old alloc %s desired %q, want stop", a.ID, got.DesiredStatus)
				}
			}
			// The purge's evaluation may have placed them, if it ran after
			// the registration; the registration's own then finds nothing
			// to do.
			var e *api.Evaluation
			waitFor(t, "register eval done", func() bool {
				e, _ = s.State().Snapshot().EvalByID(res.EvalID)
				return e != nil && e.Status != structs.EvalStatusPending
			})
			if e == nil || e.Status != structs.EvalStatusComplete || len(e.FailedTGAllocs) != 0 || e.BlockedEval != "" {
				t.Errorf("register eval = %+v, want complete with no failures", e)
			}
			sum, _ := s.State().Snapshot().JobSummary("default", "web")
			if got := sum.Summary["web"]; got.Failed != 0 || got.Complete != 0 {
				t.Errorf("new job summary %+v counts the purged job's allocations", got)
			}
		})
	}
}

// TestPurgeCancelsRunningDeployment checks that purging a job in the
// middle of a rolling deployment leaves the deployment cancelled, not
// running, nor gone before the garbage collector takes it.
func TestPurgeCancelsRunningDeployment(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	job := testJob("web", 2, 128)
	job.TaskGroups[0].Update = &api.UpdateStrategy{MaxParallel: ptr(1)}
	job.Canonicalize()
	register(t, s, job)
	d := waitDeployment(t, s, 0)
	if !structs.DeploymentActive(d) {
		t.Fatalf("deployment %s is %s, want running", d.ID, d.Status)
	}
	if _, _, err := s.DeregisterJob("", "default", "web", true); err != nil {
		t.Fatal(err)
	}
	got := mustDeployment(t, s, d.ID)
	if got.Status != structs.DeploymentStatusCancelled || got.StatusDescription != structs.DeploymentDescStoppedJob {
		t.Errorf("deployment %s (%q), want cancelled because the job is stopped", got.Status, got.StatusDescription)
	}
	waitFor(t, "allocations stopped", func() bool { return len(liveAllocs(t, s, "web")) == 0 })
}

// TestRevertAcrossPurge checks `job revert` after a purge: the purged
// job's versions are gone with it, so reverting to one is refused with a
// clear error and changes nothing.
func TestRevertAcrossPurge(t *testing.T) {
	s := testServer(t, time.Minute)
	mustRegister(t, s, testJob("web", 1, 128))
	mustRegister(t, s, testJob("web", 2, 128)) // version 1
	if _, _, err := s.DeregisterJob("", "default", "web", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevertJob("", "default", "web", 0, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("revert of a purged job: %v, want job not found", err)
	}
	mustRegister(t, s, testJob("web", 3, 128)) // version 0 of the new job
	before, _ := s.State().Snapshot().JobByID("default", "web")
	cases := []struct {
		name    string
		version uint64
		want    error
	}{
		{"to a version of the purged job", 1, ErrNotFound},
		{"to the current version", 0, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RevertJob("", "default", "web", tc.version, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("revert to %d: %v, want %v", tc.version, err, tc.want)
			}
			after, _ := s.State().Snapshot().JobByID("default", "web")
			if *after.Version != 0 || *after.JobModifyIndex != *before.JobModifyIndex || *after.TaskGroups[0].Count != 3 {
				t.Errorf("a refused revert changed the job: version %d, count %d", *after.Version, *after.TaskGroups[0].Count)
			}
		})
	}
}

// TestGCCollectsPurgedAndStoppedJobs covers `system gc`: a stopped service
// job goes once its allocations are terminal, and a purged job's finished
// allocations, evaluations and cancelled deployment go too.
func TestGCCollectsPurgedAndStoppedJobs(t *testing.T) {
	cases := []struct {
		name  string
		purge bool
	}{
		{"stopped service job", false},
		{"purged job", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Minute)
			if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
				t.Fatal(err)
			}
			job := testJob("web", 1, 128)
			job.TaskGroups[0].Update = &api.UpdateStrategy{MaxParallel: ptr(1)}
			job.Canonicalize()
			register(t, s, job)
			d := waitDeployment(t, s, 0)
			waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 1 })
			allocs := liveAllocs(t, s, "web")
			if _, _, err := s.DeregisterJob("", "default", "web", tc.purge); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "allocation stopped", func() bool { return allocByID(s, allocs[0].ID).DesiredStatus == structs.AllocDesiredStatusStop })
			waitFor(t, "evaluations done", func() bool {
				evals, _ := s.State().Snapshot().EvalsByJob("default", "web")
				for _, e := range evals {
					if e.Status == structs.EvalStatusPending {
						return false
					}
				}
				return true
			})
			reportStatus(t, s, structs.AllocClientStatusComplete, allocs...)
			if err := s.GarbageCollect(""); err != nil {
				t.Fatal(err)
			}
			snap := s.State().Snapshot()
			if j, _ := snap.JobByID("default", "web"); j != nil {
				t.Errorf("job kept: status %s", *j.Status)
			}
			if a, _ := snap.AllocByID(allocs[0].ID); a != nil {
				t.Errorf("allocation kept: %s/%s", a.DesiredStatus, a.ClientStatus)
			}
			if evals, _ := snap.EvalsByJob("default", "web"); len(evals) != 0 {
				t.Errorf("%d evaluations kept", len(evals))
			}
			if got, _ := snap.DeploymentByID(d.ID); got != nil {
				t.Errorf("deployment kept: %s", got.Status)
			}
		})
	}
}
