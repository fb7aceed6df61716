package state

import (
	"bytes"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestDeployments covers storing deployments: creation through a plan,
// status updates, marking the job stable, snapshot round trips and purge.
func TestDeployments(t *testing.T) {
	s := mustStore(t)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 2), Time: 1}); err != nil {
		t.Fatal(err)
	}
	first := &api.Deployment{ID: "d1", Namespace: "default", JobID: "web", Status: structs.DeploymentStatusRunning}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Deployment: first, Time: 2}); err != nil {
		t.Fatal(err)
	}
	second := &api.Deployment{ID: "d2", Namespace: "default", JobID: "web", Status: structs.DeploymentStatusRunning}
	cancel := &structs.DeploymentStatusUpdate{DeploymentID: "d1", Status: structs.DeploymentStatusCancelled, StatusDescription: structs.DeploymentDescNewerJob}
	if err := s.ApplyPlanResults(12, &structs.ApplyPlanResultsRequest{Deployment: second, DeploymentUpdates: []*structs.DeploymentStatusUpdate{cancel}, Time: 3}); err != nil {
		t.Fatal(err)
	}
	done := *second
	done.Status = structs.DeploymentStatusSuccessful
	req := &structs.DeploymentUpsertRequest{Deployments: []*api.Deployment{&done}, StableJob: &structs.JobVersionRef{Namespace: "default", JobID: "web"}, Time: 4}
	if err := s.DeploymentUpsert(13, req); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	stores := []struct {
		name  string
		store *Store
	}{{"live", s}, {"restored", restored}}
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.store.Snapshot()
			d1, _ := snap.DeploymentByID("d1")
			latest, _ := snap.LatestDeploymentByJob("default", "web")
			if d1 == nil || d1.Status != structs.DeploymentStatusCancelled || d1.CreateIndex != 11 || d1.ModifyIndex != 12 {
				t.Errorf("d1 = %+v", d1)
			}
			if latest == nil || latest.ID != "d2" || latest.Status != structs.DeploymentStatusSuccessful || latest.CreateIndex != 12 {
				t.Errorf("latest = %+v", latest)
			}
			job, _ := snap.JobByID("default", "web")
			v0, _ := snap.JobByVersion("default", "web", 0)
			if !*job.Stable || !*v0.Stable {
				t.Errorf("job stable %v, version 0 stable %v", *job.Stable, *v0.Stable)
			}
			if snap.Index("deployments") != 13 {
				t.Errorf("deployments index %d, want 13", snap.Index("deployments"))
			}
		})
	}
	if err := s.JobDeregister(14, &structs.JobDeregisterRequest{Namespace: "default", JobID: "web", Purge: true}); err != nil {
		t.Fatal(err)
	}
	// A purge keeps finished deployments for the garbage collector.
	for _, id := range []string{"d1", "d2"} {
		d, _ := s.Snapshot().DeploymentByID(id)
		if d == nil || structs.DeploymentActive(d) {
			t.Errorf("after purge, deployment %s = %+v, want kept and terminal", id, d)
		}
	}
	if err := s.GC(15, &structs.GCRequest{DeploymentIDs: []string{"d1", "d2"}}); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Snapshot().Deployments(""); len(all) != 0 {
		t.Errorf("gc left %d deployments", len(all))
	}
}

func TestMarkingAVersionStableKeepsTheJobStatus(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 1)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
		t.Fatal(err)
	}
	alloc := &api.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
		DesiredStatus: "run", ClientStatus: "running"}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*api.Allocation{alloc}, Time: 2}); err != nil {
		t.Fatal(err)
	}
	req := &structs.DeploymentUpsertRequest{StableJob: &structs.JobVersionRef{Namespace: "default", JobID: "web"}, Time: 3}
	if err := s.DeploymentUpsert(12, req); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Snapshot().JobByID("default", "web")
	if !*got.Stable || *got.Status != structs.JobStatusRunning {
		t.Fatalf("job after a successful deployment: stable %v, status %q, want stable and running", *got.Stable, *got.Status)
	}
}
