package server

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestRollingUpdate drives a job's second version through a deployment,
// writing allocation health as a client would, and checks where the
// deployment and the job end up.
func TestRollingUpdate(t *testing.T) {
	cases := []struct {
		name       string
		healthy    bool
		autoRevert bool
		wantStatus string
		wantDesc   string
		// wantVersion is the job's version once the deployment ended.
		wantVersion uint64
	}{
		{name: "healthy allocs make it successful", healthy: true,
			wantStatus: structs.DeploymentStatusSuccessful, wantDesc: structs.DeploymentDescSuccessful, wantVersion: 1},
		{name: "an unhealthy alloc fails it", healthy: false,
			wantStatus: structs.DeploymentStatusFailed, wantDesc: structs.DeploymentDescFailedAllocations, wantVersion: 1},
		{name: "auto revert registers the stable version again", healthy: false, autoRevert: true,
			wantStatus: structs.DeploymentStatusFailed, wantDesc: "Failed due to unhealthy allocations - rolling back to job version 0", wantVersion: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Minute)
			if _, err := s.RegisterNode(testNode("node-0", 4096)); err != nil {
				t.Fatal(err)
			}
			job := testJob("web", 3, 128)
			job.TaskGroups[0].Update.AutoRevert = ptr(tc.autoRevert)
			register(t, s, job)
			first := waitDeployment(t, s, 0)
			driveDeployment(t, s, first.ID, true)
			waitFor(t, "first deployment successful", func() bool { return deploymentStatus(s, first.ID) == structs.DeploymentStatusSuccessful })

			next := testJob("web", 3, 128)
			next.TaskGroups[0].Update.AutoRevert = ptr(tc.autoRevert)
			next.TaskGroups[0].Tasks[0].Config["args"] = []any{"2000"}
			register(t, s, next)
			second := waitDeployment(t, s, 1)
			driveDeployment(t, s, second.ID, tc.healthy)
			d, _ := s.State().Snapshot().DeploymentByID(second.ID)
			if d.Status != tc.wantStatus || d.StatusDescription != tc.wantDesc {
				t.Errorf("deployment %s (%s), want %s (%s)", d.Status, d.StatusDescription, tc.wantStatus, tc.wantDesc)
			}
			waitFor(t, "job version", func() bool {
				j, _ := s.State().Snapshot().JobByID("default", "web")
				return derefU64(j.Version) == tc.wantVersion
			})
			if tc.healthy {
				j, _ := s.State().Snapshot().JobByID("default", "web")
				if !derefBool(j.Stable) || d.TaskGroups["web"].HealthyAllocs != 3 {
					t.Errorf("job stable %v, deployment groups %+v", derefBool(j.Stable), d.TaskGroups["web"])
				}
			}
		})
	}
}

func register(t *testing.T, s *Server, job *api.Job) {
	t.Helper()
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job}); err != nil {
		t.Fatal(err)
	}
}

// waitDeployment waits for the deployment of a job version of "web".
func waitDeployment(t *testing.T, s *Server, version uint64) *api.Deployment {
	t.Helper()
	var d *api.Deployment
	waitFor(t, "deployment", func() bool {
		d, _ = s.State().Snapshot().LatestDeploymentByJob("default", "web")
		return d != nil && d.JobVersion == version
	})
	return d
}

func deploymentStatus(s *Server, id string) string {
	d, _ := s.State().Snapshot().DeploymentByID(id)
	return d.Status
}

// driveDeployment plays the client until the deployment ends: it reports
// the deployment's new allocations running with the given health, and
// checks that no more than max_parallel (1) of them are awaiting health
// while older allocations still run.
func driveDeployment(t *testing.T, s *Server, id string, healthy bool) {
	t.Helper()
	waitFor(t, "deployment end", func() bool {
		if structs.DeploymentActive(mustDeployment(t, s, id)) {
			reportHealth(t, s, id, healthy)
			return false
		}
		return true
	})
}

func mustDeployment(t *testing.T, s *Server, id string) *api.Deployment {
	d, err := s.State().Snapshot().DeploymentByID(id)
	if err != nil || d == nil {
		t.Fatalf("deployment %s: %v", id, err)
	}
	return d
}

// reportHealth reports the deployment's undecided live allocations
// running with the given health.
func reportHealth(t *testing.T, s *Server, id string, healthy bool) {
	t.Helper()
	var updates []*api.Allocation
	pending, old := 0, 0
	for _, a := range liveAllocs(t, s, "web") {
		if a.DeploymentID != id {
			old++
			continue
		}
		if a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil {
			pending++
			updates = append(updates, &api.Allocation{
				ID: a.ID, ClientStatus: structs.AllocClientStatusRunning,
				DeploymentStatus: &api.AllocDeploymentStatus{Healthy: ptr(healthy), Timestamp: time.Now()},
			})
		}
	}
	if old > 0 && pending > 1 {
		t.Errorf("%d allocs awaiting health with %d old ones running, max_parallel is 1", pending, old)
	}
	if err := s.UpdateAllocations(updates); err != nil {
		t.Fatal(err)
	}
}
