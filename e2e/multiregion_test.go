package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// multiregionSpec is a job rolled out to east, then west, with
// onFailure; script is its task's shell script, which sees its region's
// meta.
func multiregionSpec(onFailure, script string) string {
	return `job "web" {
  multiregion {
    strategy {
      max_parallel = 1
      on_failure   = "` + onFailure + `"
    }
    region "east" {
      count       = 1
      datacenters = ["east-1"]
      meta {
        side = "east"
      }
    }
    region "west" {
      count       = 2
      datacenters = ["west-1"]
      meta {
        side = "west"
      }
    }
  }
  group "app" {
    update {
      max_parallel      = 2
      min_healthy_time  = "1s"
      healthy_deadline  = "5s"
      progress_deadline = "10s"
      auto_revert       = true
    }
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", ` + strconv.Quote(script) + `]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`
}

// deploymentOf waits until the job has a deployment of version with
// status want (not necessarily its latest: a rollback follows a failure
// quickly), and returns it.
func deploymentOf(t *testing.T, c *api.Client, jobID string, version uint64, want string) *api.Deployment {
	t.Helper()
	var found *api.Deployment
	waitUntil(t, 90*time.Second, fmt.Sprintf("a deployment of %s v%d %s", jobID, version, want), func() bool {
		ds, _, err := c.Jobs().Deployments(jobID, true, nil)
		if err != nil {
			return false
		}
		for _, d := range ds {
			if d.JobVersion == version && d.Status == want {
				found = d
				return true
			}
		}
		return false
	})
	return found
}

// latestDeployment waits until the job's latest deployment in c's region
// has status want, and returns it.
func latestDeployment(t *testing.T, c *api.Client, jobID string, version uint64, want string) *api.Deployment {
	t.Helper()
	var d *api.Deployment
	waitUntil(t, 90*time.Second, fmt.Sprintf("deployment of %s v%d %s", jobID, version, want), func() bool {
		var err error
		d, _, err = c.Jobs().LatestDeployment(jobID, nil)
		return err == nil && d != nil && d.JobVersion == version && d.Status == want
	})
	return d
}

func TestMultiregionJobRollsOutRegionAfterRegionAndFailsAll(t *testing.T) {
	f := startFederation(t, federationOptions{})
	east, west := f.api(t, f.east), f.api(t, f.west)
	dir := t.TempDir()
	spec := filepath.Join(dir, "web.hcl")
	write := func(script string) {
		if err := os.WriteFile(spec, []byte(multiregionSpec("fail_all", script)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A region no server knows of: refused, naming the known ones, and
	// nothing stored anywhere.
	bad := shellJob("bad", "service", 1, "sleep 300")
	bad.Multiregion = &api.Multiregion{Regions: []*api.MultiregionRegion{{Name: "east"}, {Name: "north"}}}
	if _, _, err := east.Jobs().Register(bad, nil); err == nil || !strings.Contains(err.Error(), `No path to region "north"`) ||
		!strings.Contains(err.Error(), "east, west") {
		t.Fatalf("register a job for regions east and north: %v", err)
	}
	if jobs, _, err := east.Jobs().List(nil); err != nil || len(jobs) != 0 {
		t.Fatalf("east's jobs after the refusal: %+v, %v", jobs, err)
	}

	// Version 0 runs everywhere: east first, with its count, then west.
	write(`echo "$NOMAD_META_side" > $NOMAD_TASK_DIR/side; sleep 300`)
	if out, code := roamAt(t, f.east, nil, "job", "run", "-detach", spec); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	eastDep := latestDeployment(t, east, "web", 0, "successful")
	latestDeployment(t, west, "web", 0, "successful")
	eastAllocs := waitRunning(t, east, "web", 1)
	westAllocs := waitRunning(t, west, "web", 2)
	westJob, _, err := west.Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	// West was given the job only once east's allocation was healthy.
	eastAlloc, _, err := east.Allocations().Info(eastAllocs[0].ID, nil)
	if err != nil || eastAlloc.DeploymentStatus == nil || eastAlloc.DeploymentStatus.Healthy == nil {
		t.Fatalf("east's allocation: %+v, %v", eastAlloc, err)
	}
	if submitted := time.Unix(0, *westJob.SubmitTime); submitted.Before(eastAlloc.DeploymentStatus.Timestamp) {
		t.Fatalf("west got the job at %s, before east's allocation was healthy (%s)", submitted, eastAlloc.DeploymentStatus.Timestamp)
	}
	if *westJob.Region != "west" || westAllocs[0].JobVersion != 0 || eastDep.JobVersion != 0 {
		t.Fatalf("west's job region %q", *westJob.Region)
	}
	// Each region ran with its own block's meta.
	for _, c := range []struct {
		api  *api.Client
		id   string
		want string
	}{{east, eastAllocs[0].ID, "east"}, {west, westAllocs[0].ID, "west"}} {
		waitUntil(t, 30*time.Second, "the side file of "+c.want, func() bool {
			alloc, _, err := c.api.Allocations().Info(c.id, nil)
			if err != nil {
				return false
			}
			side, err := c.api.AllocFS().Cat(alloc, "main/local/side", nil)
			if err != nil {
				return false
			}
			defer side.Close()
			buf := make([]byte, 16)
			n, _ := side.Read(buf)
			return strings.TrimSpace(string(buf[:n])) == c.want
		})
	}
	out, code := roamAt(t, f.east, nil, "job", "status", "web")
	if code != 0 || !strings.Contains(out, "Multiregion Deployment") || strings.Count(out, "successful") < 2 {
		t.Fatalf("job status at east: exit %d\n%s", code, out)
	}

	// Version 1 fails in west only: west rolls back, and so does east,
	// whose deployment of it had succeeded (fail_all).
	write(`[ "$NOMAD_META_side" = west ] && exit 1; sleep 301`)
	if out, code := roamAt(t, f.east, nil, "job", "run", "-detach", spec); code != 0 {
		t.Fatalf("job run v1: exit %d\n%s", code, out)
	}
	deploymentOf(t, east, "web", 1, "successful")
	failed := deploymentOf(t, west, "web", 1, "failed")
	if !strings.Contains(failed.StatusDescription, "rolling back to job version 0") {
		t.Fatalf("west's failed deployment: %q", failed.StatusDescription)
	}
	for name, c := range map[string]*api.Client{"east": east, "west": west} {
		waitUntil(t, 60*time.Second, name+" back on version 0's task", func() bool {
			job, _, err := c.Jobs().Info("web", nil)
			return err == nil && *job.Version == 2 && strings.Contains(job.TaskGroups[0].Tasks[0].Config["args"].([]any)[1].(string), "sleep 300")
		})
	}

	// job stop -global stops it in both regions.
	if out, code := roamAt(t, f.east, nil, "job", "stop", "-global", "-detach", "web"); code != 0 {
		t.Fatalf("job stop -global: exit %d\n%s", code, out)
	}
	for name, c := range map[string]*api.Client{"east": east, "west": west} {
		waitUntil(t, 30*time.Second, "web stopped in "+name, func() bool {
			job, _, err := c.Jobs().Info("web", nil)
			return err == nil && *job.Stop
		})
	}
}

// TestMultiregionRolloutResumesAfterLeaderRestart submits a multiregion
// job while west is down: east deploys it and cannot hand it on. East's
// server restarts (the retrying leader gone), west comes back, and east's
// new leadership carries the rollout on to west.
func TestMultiregionRolloutResumesAfterLeaderRestart(t *testing.T) {
	f := startFederation(t, federationOptions{})
	f.west.kill()
	east := f.api(t, f.east)
	spec := filepath.Join(t.TempDir(), "web.hcl")
	if err := os.WriteFile(spec, []byte(multiregionSpec("fail_all", `sleep 300`)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := roamAt(t, f.east, nil, "job", "run", "-detach", spec); code != 0 {
		t.Fatalf("job run with west down: exit %d\n%s", code, out)
	}
	latestDeployment(t, east, "web", 0, "successful")

	f.east.stop()
	f.west.start(t)
	f.east.start(t)
	west := f.api(t, f.west)
	latestDeployment(t, west, "web", 0, "successful")
	waitRunning(t, west, "web", 2)
	logHas(t, f.east, "multiregion: resuming the rollout in the next region", 5*time.Second)
	if job, _, err := east.Jobs().Info("web", nil); err != nil || *job.Version != 0 {
		t.Fatalf("east's job after the restart: %v (want version 0 still)", err)
	}
}

// TestMultiregionFailLocal fails version 1 in west under fail_local: west
// rolls back, east keeps version 1.
func TestMultiregionFailLocal(t *testing.T) {
	f := startFederation(t, federationOptions{})
	east, west := f.api(t, f.east), f.api(t, f.west)
	spec := filepath.Join(t.TempDir(), "web.hcl")
	for version, script := range []string{`sleep 300`, `[ "$NOMAD_META_side" = west ] && exit 1; sleep 301`} {
		if err := os.WriteFile(spec, []byte(multiregionSpec("fail_local", script)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := roamAt(t, f.east, nil, "job", "run", "-detach", spec); code != 0 {
			t.Fatalf("job run v%d: exit %d\n%s", version, code, out)
		}
		deploymentOf(t, east, "web", uint64(version), "successful")
	}
	deploymentOf(t, west, "web", 1, "failed")
	waitUntil(t, 60*time.Second, "west rolled back", func() bool {
		job, _, err := west.Jobs().Info("web", nil)
		return err == nil && *job.Version == 2
	})
	// West decided, before rolling back, not to fail its peers.
	out, _ := os.ReadFile(filepath.Join(f.west.dir, "agent.log"))
	if strings.Contains(string(out), "failing the deployment in a peer region") {
		t.Fatal("west failed its peers' deployments under fail_local")
	}
	if job, _, err := east.Jobs().Info("web", nil); err != nil || *job.Version != 1 {
		t.Fatalf("east's job: %v, want version 1 kept", err)
	}
}
