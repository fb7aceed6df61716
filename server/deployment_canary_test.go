package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestCanaryDeployment moves a job of three allocations to a version with
// one canary, reporting health as a client would, and follows the
// deployment through promotion (manual or automatic) or failure.
func TestCanaryDeployment(t *testing.T) {
	cases := []struct {
		name        string
		autoPromote bool
		healthy     bool
		wantStatus  string
	}{
		{name: "manual promotion", healthy: true, wantStatus: structs.DeploymentStatusSuccessful},
		{name: "auto promote", autoPromote: true, healthy: true, wantStatus: structs.DeploymentStatusSuccessful},
		{name: "unhealthy canary fails and stops", healthy: false, wantStatus: structs.DeploymentStatusFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, time.Minute)
			if _, err := s.RegisterNode(testNode("node-0", 4096)); err != nil {
				t.Fatal(err)
			}
			register(t, s, testJob("web", 3, 128))
			first := waitDeployment(t, s, 0)
			driveDeployment(t, s, first.ID, true)

			next := testJob("web", 3, 128)
			next.TaskGroups[0].Update.Canary = ptr(1)
			next.TaskGroups[0].Update.AutoPromote = ptr(tc.autoPromote)
			next.TaskGroups[0].Tasks[0].Config["args"] = []any{"2000"}
			register(t, s, next)
			second := waitDeployment(t, s, 1)
			canary := waitCanary(t, s, second.ID)
			if d := mustDeployment(t, s, second.ID); d.TaskGroups["web"].DesiredCanaries != 1 {
				t.Errorf("deployment groups %+v", d.TaskGroups["web"])
			}
			if !tc.autoPromote {
				_, err := s.PromoteDeployment(second.ID, nil, true)
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `Task group "web" has 0/1 healthy allocations`) {
					t.Errorf("promote before health: %v", err)
				}
			}
			reportHealth(t, s, second.ID, tc.healthy)
			if tc.healthy && !tc.autoPromote {
				waitFor(t, "canary health", func() bool { return mustDeployment(t, s, second.ID).TaskGroups["web"].HealthyAllocs == 1 })
				if n := len(liveAllocs(t, s, "web")); n != 4 || mustDeployment(t, s, second.ID).TaskGroups["web"].Promoted {
					t.Errorf("%d live allocs before promotion, want 3 old and the canary", n)
				}
				if _, err := s.PromoteDeployment(second.ID, []string{"web"}, false); err != nil {
					t.Fatalf("promote: %v", err)
				}
			}
			driveDeployment(t, s, second.ID, tc.healthy)
			if d := mustDeployment(t, s, second.ID); d.Status != tc.wantStatus {
				t.Fatalf("deployment %s (%s), want %s", d.Status, d.StatusDescription, tc.wantStatus)
			}
			waitFor(t, "three live allocs", func() bool { return len(liveAllocs(t, s, "web")) == 3 })
			live := liveAllocs(t, s, "web")
			kept := false
			for _, a := range live {
				kept = kept || a.ID == canary.ID
				if tc.healthy && a.DeploymentID != second.ID {
					t.Errorf("alloc %s of deployment %q still runs", a.Name, a.DeploymentID)
				}
			}
			if kept != tc.healthy {
				t.Errorf("canary still running = %v, want %v", kept, tc.healthy)
			}
		})
	}
}

// waitCanary waits for the deployment's canary to be placed.
func waitCanary(t *testing.T, s *Server, id string) *api.Allocation {
	t.Helper()
	var canary *api.Allocation
	waitFor(t, "canary", func() bool {
		for _, a := range liveAllocs(t, s, "web") {
			if a.DeploymentID == id && a.DeploymentStatus != nil && a.DeploymentStatus.Canary {
				canary = a
			}
		}
		return canary != nil
	})
	return canary
}
