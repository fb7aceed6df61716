package state

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestPurgeStopsAllocsAndCancelsDeployments covers `job stop -purge`: every
// allocation the server has not stopped is marked for stop whatever its
// client status, active deployments are cancelled, and a job registered
// again with the same ID counts none of what the purged one left.
func TestPurgeStopsAllocsAndCancelsDeployments(t *testing.T) {
	s := mustStore(t)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 3), Time: 1}); err != nil {
		t.Fatal(err)
	}
	old, _ := s.Snapshot().JobByID("default", "web")
	allocs := []*api.Allocation{
		{ID: "running", ClientStatus: "running", DesiredStatus: "run"},
		{ID: "failed", ClientStatus: "failed", DesiredStatus: "run"},
		{ID: "stopped", ClientStatus: "complete", DesiredStatus: "stop", DesiredDescription: "earlier"},
	}
	for _, a := range allocs {
		a.Namespace, a.JobID, a.TaskGroup, a.NodeID = "default", "web", "web", "n1"
	}
	d := &api.Deployment{ID: "d1", Namespace: "default", JobID: "web", Status: structs.DeploymentStatusRunning}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: old, Allocs: allocs, Deployment: d, Time: 2}); err != nil {
		t.Fatal(err)
	}
	// The plan wrote the client statuses as given: these allocations are new.
	if err := s.JobDeregister(12, &structs.JobDeregisterRequest{Namespace: "default", JobID: "web", Purge: true, Time: 3}); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	want := []struct {
		id, desired, desc string
		modifyIndex       uint64
	}{
		{"running", "stop", purgedAllocDesc, 12},
		{"failed", "stop", purgedAllocDesc, 12},
		{"stopped", "stop", "earlier", 11},
	}
	for _, w := range want {
		t.Run("alloc "+w.id, func(t *testing.T) {
			a, _ := snap.AllocByID(w.id)
			if a == nil || a.DesiredStatus != w.desired || a.DesiredDescription != w.desc || a.AllocModifyIndex != w.modifyIndex {
				t.Errorf("alloc = %+v, want desired %q (%q) at index %d", a, w.desired, w.desc, w.modifyIndex)
			}
		})
	}
	dep, _ := snap.DeploymentByID("d1")
	if dep == nil || dep.Status != structs.DeploymentStatusCancelled || dep.StatusDescription != structs.DeploymentDescStoppedJob {
		t.Errorf("deployment = %+v, want cancelled because the job is stopped", dep)
	}
	if sum, _ := snap.JobSummary("default", "web"); sum != nil {
		t.Errorf("purged job kept a summary: %+v", sum)
	}

	// The client reports the old allocation still running after the purge:
	// no summary comes back for the purged job.
	update := &api.Allocation{ID: "running", ClientStatus: "running"}
	if err := s.AllocClientUpdate(13, &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{update}, Time: 4}); err != nil {
		t.Fatal(err)
	}
	if sum, _ := s.Snapshot().JobSummary("default", "web"); sum != nil {
		t.Errorf("a client update recreated the purged job's summary: %+v", sum)
	}

	// A new job with the same ID: the old allocations neither make it
	// running nor show in its summary, before and after they finish.
	if err := s.JobRegister(14, &structs.JobRegisterRequest{Job: testJob("web", 1), Time: 5}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		status string
	}{
		{"old allocation still running", "running"},
		{"old allocation finished", "complete"},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			u := &api.Allocation{ID: "running", ClientStatus: st.status}
			if err := s.AllocClientUpdate(uint64(15+i), &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{u}, Time: 6}); err != nil {
				t.Fatal(err)
			}
			snap := s.Snapshot()
			job, _ := snap.JobByID("default", "web")
			if *job.Status != structs.JobStatusPending || *job.Version != 0 || *job.CreateIndex != 14 {
				t.Errorf("new job status %q version %d create index %d, want pending, 0, 14", *job.Status, *job.Version, *job.CreateIndex)
			}
			sum, _ := snap.JobSummary("default", "web")
			if sum == nil || sum.Summary["web"] != (api.TaskGroupSummary{}) {
				t.Errorf("new job summary = %+v, want all zeros", sum)
			}
		})
	}
}

// TestMarkJobStableKeepsStatus checks that a successful deployment marks
// the job stable without copying the stored version (and its old status)
// over the current job.
func TestMarkJobStableKeepsStatus(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 1)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Snapshot().JobByID("default", "web")
	alloc := &api.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", DesiredStatus: "run", ClientStatus: "running"}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: stored, Allocs: []*api.Allocation{alloc}, Time: 2}); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Snapshot().JobByID("default", "web"); *j.Status != structs.JobStatusRunning {
		t.Fatalf("before: status %q, want running", *j.Status)
	}
	req := &structs.DeploymentUpsertRequest{StableJob: &structs.JobVersionRef{Namespace: "default", JobID: "web", Version: 0}, Time: 3}
	if err := s.DeploymentUpsert(12, req); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	j, _ := snap.JobByID("default", "web")
	v0, _ := snap.JobByVersion("default", "web", 0)
	cases := []struct {
		name      string
		got, want any
	}{
		{"status", *j.Status, structs.JobStatusRunning},
		{"stable", *j.Stable, true},
		{"version stable", *v0.Stable, true},
		{"version", *j.Version, uint64(0)},
		{"modify index", *j.ModifyIndex, uint64(12)},
		{"job modify index", *j.JobModifyIndex, uint64(10)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}
