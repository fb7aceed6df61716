package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// The tests of this file walk issue 17: what `job stop`, `job stop -purge`,
// `job run`, `job revert` and `system gc` do to a job's allocations,
// evaluations and deployments, through the built binary and the official
// client. Nothing waits for a reschedule delay: the default one (30 s) is
// longer than any wait here.

// placeWait is how long a placement may take: far less than the default
// reschedule delay.
const placeWait = 15 * time.Second

// noRestart makes a failing task fail its allocation at once.
func noRestart(job *api.Job) *api.Job {
	job.TaskGroups[0].RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr("fail")}
	return job
}

func (a *devAgent) register(t *testing.T, job *api.Job) *api.JobRegisterResponse {
	t.Helper()
	res, _, err := a.client.Jobs().Register(job, nil)
	if err != nil {
		t.Fatalf("register %s: %v", *job.ID, err)
	}
	return res
}

func (a *devAgent) deregister(t *testing.T, id string, purge bool) string {
	t.Helper()
	evalID, _, err := a.client.Jobs().Deregister(id, purge, nil)
	if err != nil {
		t.Fatalf("deregister %s (purge %v): %v", id, purge, err)
	}
	return evalID
}

// waitEval waits for an evaluation to finish and returns it.
func (a *devAgent) waitEval(t *testing.T, id string) *api.Evaluation {
	t.Helper()
	var e *api.Evaluation
	waitUntil(t, placeWait, "evaluation "+id+" complete", func() bool {
		var err error
		e, _, err = a.client.Evaluations().Info(id, nil)
		return err == nil && e.Status != "pending"
	})
	return e
}

// currentAllocs lists the allocations of the job now registered under id,
// as `job status` shows them (no allocations of a purged job of that ID).
func (a *devAgent) currentAllocs(t testing.TB, id string) []*api.AllocationListStub {
	t.Helper()
	allocs, _, err := a.client.Jobs().Allocations(id, false, nil)
	if err != nil {
		t.Fatalf("allocations of %s: %v", id, err)
	}
	return allocs
}

// TestPurgeThenRunPlacesAtOnce: `job stop -purge` then `job run` of the
// same failing job places a new allocation at once; the purged job's
// allocation is stopped, is no longer listed for the job without
// ?all=true, and counts neither in its summary nor for rescheduling.
func TestPurgeThenRunPlacesAtOnce(t *testing.T) {
	a := startDevAgent(t, "")
	job := noRestart(shellJob("flaky", "service", 1, "exit 1"))
	a.register(t, job)
	waitUntil(t, placeWait, "the first allocation failed", func() bool {
		return countStatus(a.allocsOf(t, "flaky"), "failed") == 1
	})
	old := a.allocsOf(t, "flaky")[0]

	evalID := a.deregister(t, "flaky", true)
	if _, _, err := a.client.Jobs().Info("flaky", nil); err == nil {
		t.Error("purged job still readable")
	}
	res := a.register(t, noRestart(shellJob("flaky", "service", 1, "exit 1")))
	stored, _, err := a.client.Jobs().Info("flaky", nil)
	if err != nil || *stored.Version != 0 {
		t.Fatalf("job after re-register: version %v, %v", stored.Version, err)
	}
	var placed []*api.AllocationListStub
	waitUntil(t, placeWait, "a new allocation", func() bool {
		placed = a.currentAllocs(t, "flaky")
		return len(placed) >= 1
	})
	for _, p := range placed {
		if p.ID == old.ID || p.CreateIndex < *stored.CreateIndex {
			t.Errorf("allocation %s (create index %d) listed for the new job (create index %d)", p.ID, p.CreateIndex, *stored.CreateIndex)
		}
	}
	e := a.waitEval(t, res.EvalID)
	if e.Status != "complete" || len(e.FailedTGAllocs) != 0 || e.BlockedEval != "" {
		t.Errorf("register eval %s, failures %v, blocked %q", e.Status, e.FailedTGAllocs, e.BlockedEval)
	}
	if e := a.waitEval(t, evalID); e.Status != "complete" || e.TriggeredBy != "job-deregister" {
		t.Errorf("deregister eval %s triggered by %s", e.Status, e.TriggeredBy)
	}
	got, _, err := a.client.Allocations().Info(old.ID, nil)
	if err != nil || got.DesiredStatus != "stop" {
		t.Errorf("purged job's allocation desired %q (%v), want stop", got.DesiredStatus, err)
	}
	all := a.allocsOf(t, "flaky")
	if len(all) != len(placed)+1 {
		t.Errorf("?all=true lists %d allocations, want the %d new ones and the old one", len(all), len(placed))
	}
}

// TestStopThenRunChangedJob: `job stop` stops every allocation (its
// deregister evaluation completes, the job is dead), and `job run` of a
// changed version places new allocations at once beside the stopped ones.
func TestStopThenRunChangedJob(t *testing.T) {
	a := startDevAgent(t, "")
	a.register(t, shellJob("web", "service", 2, "sleep 1000"))
	waitRunning(t, a.client, "web", 2)
	evalID := a.deregister(t, "web", false)
	if e := a.waitEval(t, evalID); e.Status != "complete" {
		t.Fatalf("deregister eval %s", e.Status)
	}
	waitUntil(t, placeWait, "stopped allocations complete", func() bool {
		allocs := a.allocsOf(t, "web")
		for _, al := range allocs {
			if al.DesiredStatus != "stop" || al.ClientStatus != "complete" {
				return false
			}
		}
		return len(allocs) == 2
	})
	waitUntil(t, placeWait, "job dead", func() bool {
		j, _, err := a.client.Jobs().Info("web", nil)
		return err == nil && *j.Status == "dead" && *j.Stop
	})

	changed := shellJob("web", "service", 2, "sleep 2000")
	res := a.register(t, changed)
	waitRunning(t, a.client, "web", 2)
	if e := a.waitEval(t, res.EvalID); e.Status != "complete" || len(e.FailedTGAllocs) != 0 {
		t.Errorf("register eval %s, failures %v", e.Status, e.FailedTGAllocs)
	}
	j, _, _ := a.client.Jobs().Info("web", nil)
	if *j.Version != 2 || *j.Stop {
		t.Errorf("job version %d stop %v, want 2 (run, stop, changed run) and running", *j.Version, *j.Stop)
	}
	allocs := a.allocsOf(t, "web")
	if len(allocs) != 4 || countStatus(allocs, "running") != 2 || countStatus(allocs, "complete") != 2 {
		t.Errorf("allocations: %d, running %d, complete %d; want 2 stopped and 2 new", len(allocs), countStatus(allocs, "running"), countStatus(allocs, "complete"))
	}
}

// TestPurgeCancelsRunningDeployment: `job stop -purge` of a job in the
// middle of a deployment cancels the deployment ("Cancelled because job is
// stopped") and stops its allocations.
func TestPurgeCancelsRunningDeployment(t *testing.T) {
	a := startDevAgent(t, "")
	job := shellJob("slow", "service", 2, "sleep 1000")
	job.TaskGroups[0].Update = &api.UpdateStrategy{MaxParallel: ptr(1), MinHealthyTime: ptr(time.Hour), HealthyDeadline: ptr(2 * time.Hour), ProgressDeadline: ptr(3 * time.Hour)}
	a.register(t, job)
	var d *api.Deployment
	waitUntil(t, placeWait, "a running deployment", func() bool {
		var err error
		d, _, err = a.client.Jobs().LatestDeployment("slow", nil)
		return err == nil && d != nil && d.Status == "running"
	})
	allocs := waitRunning(t, a.client, "slow", 2)
	a.deregister(t, "slow", true)
	got, _, err := a.client.Deployments().Info(d.ID, nil)
	if err != nil || got.Status != "cancelled" || got.StatusDescription != "Cancelled because job is stopped" {
		t.Fatalf("deployment after purge: %+v, %v", got, err)
	}
	for _, stub := range allocs {
		waitUntil(t, placeWait, "allocation "+stub.ID+" stopped", func() bool {
			al, _, err := a.client.Allocations().Info(stub.ID, nil)
			return err == nil && al.DesiredStatus == "stop" && al.ClientStatus == "complete"
		})
	}
}

// TestRevertAcrossPurge: a purge takes the job's versions with it, so
// `job revert` of the purged job fails as for an unknown job, and after
// `job run` again only the new job's versions exist to revert to.
func TestRevertAcrossPurge(t *testing.T) {
	a := startDevAgent(t, "")
	a.register(t, shellJob("rev", "service", 1, "sleep 1000"))
	a.register(t, shellJob("rev", "service", 1, "sleep 2000"))
	a.deregister(t, "rev", true)
	_, _, err := a.client.Jobs().Revert("rev", 0, nil, nil, "", "")
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "job not found") {
		t.Errorf("revert of the purged job: %v, want 404 job not found", err)
	}
	a.register(t, shellJob("rev", "service", 1, "sleep 3000"))
	_, _, err = a.client.Jobs().Revert("rev", 1, nil, nil, "", "")
	if err == nil || !strings.Contains(err.Error(), "version 1 not found") {
		t.Errorf("revert to a version of the purged job: %v, want version 1 not found", err)
	}
	out, code := a.roam(t, "job", "revert", "rev", "1")
	if code == 0 || !strings.Contains(out, "version 1 not found") {
		t.Errorf("roam job revert exited %d:\n%s", code, out)
	}
	versions, _, _, err := a.client.Jobs().Versions("rev", false, nil)
	if err != nil || len(versions) != 1 || *versions[0].Version != 0 {
		t.Errorf("versions after re-register: %d, %v; want only version 0", len(versions), err)
	}
	if args := versions[0].TaskGroups[0].Tasks[0].Config["args"]; !strings.Contains(jsonString(t, args), "sleep 3000") {
		t.Errorf("a refused revert changed the job: args %v", args)
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPurgePeriodicParentWhileChildRuns: purging a periodic job removes
// the parent and stops its launches; a child already launched is a job of
// its own and keeps running.
func TestPurgePeriodicParentWhileChildRuns(t *testing.T) {
	a := startDevAgent(t, "")
	parent := shellJob("nightly", "batch", 1, "sleep 1000")
	parent.Periodic = &api.PeriodicConfig{Spec: ptr("0 3 * * *"), SpecType: ptr("cron")}
	a.register(t, parent)
	childID, _, err := a.client.Jobs().PeriodicForce("nightly", nil)
	if err != nil || childID == "" {
		t.Fatalf("periodic force: %q, %v", childID, err)
	}
	var childJob string
	waitUntil(t, placeWait, "the child running", func() bool {
		jobs, _, err := a.client.Jobs().PrefixList("nightly/periodic-")
		if err != nil || len(jobs) != 1 {
			return false
		}
		childJob = jobs[0].ID
		return countStatus(a.allocsOf(t, childJob), "running") == 1
	})
	a.deregister(t, "nightly", true)
	if _, _, err := a.client.Jobs().Info("nightly", nil); err == nil {
		t.Error("purged periodic parent still readable")
	}
	if _, _, err := a.client.Jobs().PeriodicForce("nightly", nil); err == nil {
		t.Error("periodic force of the purged parent succeeded")
	}
	time.Sleep(time.Second) // a stop would reach the child's allocation by now
	child, _, err := a.client.Jobs().Info(childJob, nil)
	if err != nil || *child.Status != "running" || *child.Stop {
		t.Fatalf("child after the parent's purge: %+v, %v", child, err)
	}
	allocs := a.allocsOf(t, childJob)
	if len(allocs) != 1 || allocs[0].DesiredStatus != "run" || allocs[0].ClientStatus != "running" {
		t.Errorf("child allocations %+v, want one still running", allocs)
	}
	if jobs, _, _ := a.client.Jobs().PrefixList("nightly/periodic-"); len(jobs) != 1 {
		t.Errorf("%d children after the purge, want the one launched before", len(jobs))
	}
}

// TestSystemGCCollectsStoppedAndPurgedJobs: `system gc` removes a stopped
// service job once its allocations are terminal, with its evaluations and
// allocations, and what a purged job left once it finished.
func TestSystemGCCollectsStoppedAndPurgedJobs(t *testing.T) {
	a := startDevAgent(t, "")
	for _, id := range []string{"stopped", "purged"} {
		a.register(t, shellJob(id, "service", 1, "sleep 1000"))
		waitRunning(t, a.client, id, 1)
	}
	stoppedAllocs, purgedAllocs := a.allocsOf(t, "stopped"), a.allocsOf(t, "purged")
	a.waitEval(t, a.deregister(t, "stopped", false))
	a.waitEval(t, a.deregister(t, "purged", true))
	for _, al := range append(stoppedAllocs, purgedAllocs...) {
		waitUntil(t, placeWait, "allocation "+al.ID+" complete", func() bool {
			got, _, err := a.client.Allocations().Info(al.ID, nil)
			return err == nil && got.ClientStatus == "complete"
		})
	}
	if err := a.client.System().GarbageCollect(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.client.Jobs().Info("stopped", nil); err == nil {
		t.Error("stopped job survived gc")
	}
	for _, al := range append(stoppedAllocs, purgedAllocs...) {
		if _, _, err := a.client.Allocations().Info(al.ID, nil); err == nil {
			t.Errorf("allocation %s survived gc", al.ID)
		}
	}
	evals, _, err := a.client.Evaluations().List(nil)
	if err != nil || len(evals) != 0 {
		t.Errorf("%d evaluations survived gc (%v)", len(evals), err)
	}
}

// TestJobStaysRunningAfterDeployment is issue 15: a successful deployment
// marks the job stable without setting its status back to pending.
func TestJobStaysRunningAfterDeployment(t *testing.T) {
	a := startDevAgent(t, "")
	path := filepath.Join(t.TempDir(), "roll.nomad.hcl")
	if err := os.WriteFile(path, []byte(strings.Replace(rollingJob, "%d", "1000", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := a.roam(t, "job", "run", path); code != 0 || !strings.Contains(out, "successful") {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	j, _, err := a.client.Jobs().Info("roll", nil)
	if err != nil || *j.Status != "running" || !*j.Stable {
		t.Errorf("job after its deployment: status %q stable %v (%v), want running and stable", *j.Status, *j.Stable, err)
	}
}

// TestConstraintWithoutOperatorIsEqual is issue 15: attribute and value
// without operator mean "=", in `job run -output` and in the stored job.
func TestConstraintWithoutOperatorIsEqual(t *testing.T) {
	a := startDevAgent(t, "")
	const hcl = `job "eq" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }
  group "app" {
    affinity {
      attribute = "${node.datacenter}"
      value     = "dc1"
    }
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["1000"]
      }
    }
  }
}
`
	path := filepath.Join(t.TempDir(), "eq.nomad.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := a.roam(t, "job", "run", "-output", path)
	if code != 0 {
		t.Fatalf("job run -output exited %d:\n%s", code, out)
	}
	var printed struct{ Job api.Job }
	if err := json.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatalf("job run -output is not the job's JSON: %v\n%s", err, out)
	}
	if out, code := a.roam(t, "job", "run", "-detach", path); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	stored, _, err := a.client.Jobs().Info("eq", nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		job  *api.Job
	}{{"job run -output", &printed.Job}, {"stored job", stored}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.job.Constraints[0].Operand; got != "=" {
				t.Errorf("constraint operand %q, want =", got)
			}
			if got := tc.job.TaskGroups[0].Affinities[0].Operand; got != "=" {
				t.Errorf("affinity operand %q, want =", got)
			}
		})
	}
}
