package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// rollingJob is a service job of two allocations updated one at a time,
// each healthy after running a second.
const rollingJob = `job "roll" {
  group "app" {
    count = 2
    update {
      max_parallel     = 1
      min_healthy_time = "1s"
      healthy_deadline = "1m"
    }
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep %d"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// TestRollingDeployment runs a job with an update block, then a new
// version of it, through `roam job run`, and checks the deployments the
// official client sees.
func TestRollingDeployment(t *testing.T) {
	a := startDevAgent(t, "")
	path := filepath.Join(t.TempDir(), "roll.nomad.hcl")
	for version, sleep := range []int{1000, 2000} {
		if err := os.WriteFile(path, []byte(fmt.Sprintf(rollingJob, sleep)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := a.roam(t, "job", "run", path)
		if code != 0 || !strings.Contains(out, "Deployment") || !strings.Contains(out, "successful") {
			t.Fatalf("job run of version %d exited %d:\n%s", version, code, out)
		}
	}
	d, _, err := a.client.Jobs().LatestDeployment("roll", nil)
	if err != nil || d == nil {
		t.Fatalf("latest deployment: %v, %v", d, err)
	}
	if d.Status != "successful" || d.JobVersion != 1 || d.TaskGroups["app"].HealthyAllocs != 2 {
		t.Errorf("latest deployment %s, version %d, groups %+v", d.Status, d.JobVersion, d.TaskGroups["app"])
	}
	all, _, err := a.client.Deployments().List(nil)
	if err != nil || len(all) != 2 || all[0].ID != d.ID {
		t.Errorf("deployments list = %d items, %v", len(all), err)
	}
	allocs, _, err := a.client.Deployments().Allocations(d.ID, nil)
	if err != nil || len(allocs) != 2 {
		t.Errorf("deployment allocations = %d, %v", len(allocs), err)
	}
	job, _, err := a.client.Jobs().Info("roll", nil)
	if err != nil || job.Stable == nil || !*job.Stable {
		t.Errorf("job after a successful deployment is not stable: %v", err)
	}
	if _, _, err := a.client.Deployments().Fail(d.ID, nil); err == nil || !strings.Contains(err.Error(), "successful") {
		t.Errorf("failing a finished deployment: %v", err)
	}
}

// canaryJob is rollingJob with one canary per new version.
var canaryJob = strings.Replace(rollingJob, "max_parallel     = 1", "max_parallel     = 1\n      canary           = 1", 1)

// TestCanaryDeployment runs a new version of a job with one canary: the
// canary runs beside the old allocations until the official client
// promotes the deployment, after which the update rolls to the end.
func TestCanaryDeployment(t *testing.T) {
	a := startDevAgent(t, "")
	path := filepath.Join(t.TempDir(), "canary.nomad.hcl")
	runVersion := func(sleep int, args ...string) {
		if err := os.WriteFile(path, []byte(fmt.Sprintf(canaryJob, sleep)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := a.roam(t, append(append([]string{"job", "run"}, args...), path)...)
		if code != 0 {
			t.Fatalf("job run exited %d:\n%s", code, out)
		}
	}
	runVersion(1000)
	// job run follows the deployment until only a promotion can move it on.
	if err := os.WriteFile(path, []byte(fmt.Sprintf(canaryJob, 2000)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := a.roam(t, "job", "run", path)
	if code != 0 || !strings.Contains(out, "requires manual promotion") {
		t.Fatalf("job run of a canary version exited %d:\n%s", code, out)
	}
	var d *api.Deployment
	waitUntil(t, time.Minute, "a healthy canary", func() bool {
		var err error
		d, _, err = a.client.Jobs().LatestDeployment("roll", nil)
		return err == nil && d != nil && d.JobVersion == 1 && d.TaskGroups["app"].HealthyAllocs == 1
	})
	st := d.TaskGroups["app"]
	if d.Status != "running" || st.DesiredCanaries != 1 || len(st.PlacedCanaries) != 1 || st.Promoted {
		t.Fatalf("deployment before promotion %s, groups %+v", d.Status, st)
	}
	waitRunning(t, a.client, "roll", 3)
	if out, code := a.roam(t, "deployment", "promote", d.ID[:8]); code != 0 {
		t.Fatalf("deployment promote exited %d:\n%s", code, out)
	}
	waitUntil(t, time.Minute, "deployment success", func() bool {
		d, _, _ = a.client.Deployments().Info(d.ID, nil)
		return d != nil && d.Status == "successful"
	})
	allocs := waitRunning(t, a.client, "roll", 2)
	canaryKept := false
	for _, stub := range allocs {
		if stub.ClientStatus == "running" {
			canaryKept = canaryKept || stub.ID == st.PlacedCanaries[0]
			if stub.JobVersion != 1 {
				t.Errorf("alloc %s runs job version %d", stub.Name, stub.JobVersion)
			}
		}
	}
	if !canaryKept || !d.TaskGroups["app"].Promoted {
		t.Errorf("canary kept %v, groups %+v", canaryKept, d.TaskGroups["app"])
	}
}
