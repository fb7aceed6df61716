package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// The cases below replay, through the official api client, the calls each
// verb of the real `nomad` CLI makes (read from its command/*.go), and assert
// that every response field the verb reads or dereferences is present and
// sensible: a nil pointer there panics the real CLI, an empty map key prints
// a blank column.

// compatJob is the job the cases run: one group "app" with a dynamic port, a
// Nomad-provider service "web" and an update block, so that a deployment,
// a service registration, task events and log output all exist.
func compatJob(agentPort string, count int) *api.Job {
	job := webServiceJob("compat", agentPort)
	job.TaskGroups[0].Count = ptr(count)
	job.TaskGroups[0].Tasks[0].Config["args"] = []string{"-c", "echo compat-ready; sleep 600"}
	job.TaskGroups[0].Update = &api.UpdateStrategy{MaxParallel: ptr(1), MinHealthyTime: ptr(time.Second),
		HealthyDeadline: ptr(time.Minute), ProgressDeadline: ptr(2 * time.Minute), HealthCheck: ptr("task_states")}
	return job
}

// monitorEval replays `nomad job run`'s evaluation monitor: it polls the
// evaluation and its allocations until the evaluation is terminal, checking
// the fields the monitor prints, and returns the final evaluation.
func monitorEval(t *testing.T, c *api.Client, evalID string) *api.Evaluation {
	t.Helper()
	var eval *api.Evaluation
	waitUntil(t, 30*time.Second, "evaluation "+evalID+" terminal", func() bool {
		var err error
		eval, _, err = c.Evaluations().Info(evalID, nil)
		if err != nil {
			t.Fatalf("eval info: %v", err)
		}
		return eval.Status == "complete" || eval.Status == "failed" || eval.Status == "canceled"
	})
	if eval.ID != evalID || eval.JobID == "" || eval.CreateIndex == 0 || eval.TriggeredBy == "" || eval.Priority == 0 {
		t.Errorf("monitored eval misses fields the monitor prints: %+v", eval)
	}
	allocs, _, err := c.Evaluations().Allocations(evalID, nil)
	if err != nil {
		t.Fatalf("eval allocations: %v", err)
	}
	for _, a := range allocs {
		if a.ID == "" || a.TaskGroup == "" || a.NodeID == "" || a.DesiredStatus == "" || a.ClientStatus == "" || a.CreateIndex == 0 {
			t.Errorf("eval allocation stub misses fields the monitor prints: %+v", a)
		}
	}
	return eval
}

// monitorDeployment replays the deployment monitor `nomad job run` enters
// after the evaluation: blocking reads of the deployment until it ends.
func monitorDeployment(t *testing.T, c *api.Client, id string) *api.Deployment {
	t.Helper()
	q := &api.QueryOptions{AllowStale: true, WaitTime: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, meta, err := c.Deployments().Info(id, q)
		if err != nil {
			t.Fatalf("deployment info: %v", err)
		}
		if meta.LastIndex == 0 {
			t.Fatal("deployment info returned no X-Nomad-Index: the monitor's blocking query would spin")
		}
		if d.Status != "running" {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s still running: %s", id, d.StatusDescription)
		}
		q.WaitIndex = meta.LastIndex
	}
}

// checkDeploymentGroups checks what formatDeploymentGroups prints.
func checkDeploymentGroups(t *testing.T, d *api.Deployment, group string, want int) {
	t.Helper()
	if d.ID == "" || d.JobID != "compat" || d.Status == "" || d.StatusDescription == "" || d.Namespace != "default" {
		t.Errorf("deployment header = %+v", d)
	}
	s := d.TaskGroups[group]
	if s == nil {
		t.Fatalf("deployment has no task group %q: %+v", group, d.TaskGroups)
	}
	if s.DesiredTotal != want || s.PlacedAllocs != want || s.HealthyAllocs != want || s.UnhealthyAllocs != 0 {
		t.Errorf("deployment group %q = desired %d placed %d healthy %d unhealthy %d, want %d of each",
			group, s.DesiredTotal, s.PlacedAllocs, s.HealthyAllocs, s.UnhealthyAllocs, want)
	}
	if s.ProgressDeadline != 2*time.Minute || s.RequireProgressBy.IsZero() {
		t.Errorf("deployment group %q progress deadline %s, require progress by %s", group, s.ProgressDeadline, s.RequireProgressBy)
	}
}

// runAndMonitor registers job as `nomad job run` does (with its source as
// the submission) and replays the monitor to a successful deployment.
func runAndMonitor(t *testing.T, c *api.Client, job *api.Job) *api.Evaluation {
	t.Helper()
	src, _ := json.Marshal(job)
	resp, _, err := c.Jobs().RegisterOpts(job, &api.RegisterOptions{Submission: &api.JobSubmission{Source: string(src), Format: "json"}}, nil)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if resp.EvalID == "" || resp.JobModifyIndex == 0 {
		t.Fatalf("register response = %+v", resp)
	}
	eval := monitorEval(t, c, resp.EvalID)
	if eval.Status != "complete" || len(eval.FailedTGAllocs) != 0 {
		t.Fatalf("eval %s: %s, failed groups %v", eval.Status, eval.StatusDescription, eval.FailedTGAllocs)
	}
	if eval.DeploymentID == "" {
		t.Fatal("the evaluation of a service job with an update block names no deployment: the CLI would not monitor it")
	}
	d := monitorDeployment(t, c, eval.DeploymentID)
	if d.Status != "successful" {
		t.Fatalf("deployment %s: %s", d.Status, d.StatusDescription)
	}
	checkDeploymentGroups(t, d, "app", *job.TaskGroups[0].Count)
	return eval
}

// jobByPrefix replays the CLI's JobIDByPrefix and Info: several matches
// are fine when the first, in ID order, is the prefix itself.
func jobByPrefix(t *testing.T, c *api.Client, prefix string) *api.Job {
	t.Helper()
	stubs, _, err := c.Jobs().PrefixList(prefix)
	if err != nil || len(stubs) == 0 || len(stubs) > 1 && stubs[0].ID != prefix {
		t.Fatalf("job prefix list %q = %d stubs, %v", prefix, len(stubs), err)
	}
	if stubs[0].Namespace != "default" {
		t.Errorf("job stub namespace = %q", stubs[0].Namespace)
	}
	job, _, err := c.Jobs().Info(stubs[0].ID, &api.QueryOptions{Namespace: stubs[0].Namespace})
	if err != nil {
		t.Fatalf("job info: %v", err)
	}
	return job
}

// singleAlloc replays the CLI's allocation prefix lookup and Info.
func singleAlloc(t *testing.T, c *api.Client, id string) *api.Allocation {
	t.Helper()
	stubs, _, err := c.Allocations().PrefixList(id[:8])
	if err != nil || len(stubs) != 1 {
		t.Fatalf("alloc prefix list = %d, %v", len(stubs), err)
	}
	alloc, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil {
		t.Fatalf("alloc info: %v", err)
	}
	return alloc
}

// runningAllocs returns the job's running allocations' stubs.
func runningAllocs(t *testing.T, c *api.Client) []*api.AllocationListStub {
	t.Helper()
	allocs, _, err := c.Jobs().Allocations("compat", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []*api.AllocationListStub
	for _, a := range allocs {
		if a.ClientStatus == "running" {
			out = append(out, a)
		}
	}
	return out
}

// checkStats checks what alloc status and node status read of an
// allocation's live statistics.
func checkStats(t *testing.T, c *api.Client, alloc *api.Allocation) {
	t.Helper()
	stats, err := c.Allocations().Stats(alloc, nil)
	if err != nil {
		t.Fatalf("alloc stats: %v", err)
	}
	if stats.ResourceUsage == nil || stats.ResourceUsage.CpuStats == nil || stats.ResourceUsage.MemoryStats == nil {
		t.Fatalf("alloc stats lack the totals node status dereferences: %+v", stats.ResourceUsage)
	}
	ru := stats.Tasks["main"]
	if ru == nil || ru.ResourceUsage == nil || ru.ResourceUsage.CpuStats == nil || ru.ResourceUsage.MemoryStats == nil {
		t.Fatalf("alloc stats lack task main's usage: %+v", stats.Tasks)
	}
	if len(ru.ResourceUsage.MemoryStats.Measured) == 0 || len(ru.ResourceUsage.CpuStats.Measured) == 0 {
		t.Errorf("task stats measure nothing (alloc status -stats prints no table): %+v", ru.ResourceUsage)
	}
}

// TestNomadCLICompat runs one job through a dev agent and, one case per
// verb of the real `nomad` CLI, replays that verb's API calls and checks the
// fields it reads. The cases run in order on the same job: each starts from
// the state the previous ones left (two running allocations of version 1
// after "job history", a stopped job after "job stop").
func TestNomadCLICompat(t *testing.T) {
	a := startDevAgent(t, "")
	c := a.client
	agentPort := a.addr[strings.LastIndex(a.addr, ":")+1:]
	var firstEval *api.Evaluation

	cases := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"job run", func(t *testing.T) {
			firstEval = runAndMonitor(t, c, compatJob(agentPort, 1))
			// `job run -check-index` shows the part of the error in
			// parentheses that starts with api.RegisterEnforceIndexErrPrefix.
			_, _, err := c.Jobs().RegisterOpts(compatJob(agentPort, 1), &api.RegisterOptions{EnforceIndex: true, ModifyIndex: 1}, nil)
			if err == nil || !strings.Contains(err.Error(), "("+api.RegisterEnforceIndexErrPrefix) {
				t.Errorf("register with a stale check-index: %v", err)
			}
		}},
		{"job plan", func(t *testing.T) {
			job := jobByPrefix(t, c, "compat")
			resp, _, err := c.Jobs().PlanOpts(compatJob(agentPort, 2), &api.PlanOptions{Diff: true}, nil)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if resp.JobModifyIndex != *job.JobModifyIndex {
				t.Errorf("plan's check-index %d, job modify index %d", resp.JobModifyIndex, *job.JobModifyIndex)
			}
			if resp.Diff == nil || resp.Diff.Type != "Edited" || resp.Diff.ID != "compat" || len(resp.Diff.TaskGroups) != 1 {
				t.Fatalf("plan diff = %+v", resp.Diff)
			}
			tg := resp.Diff.TaskGroups[0]
			var count *api.FieldDiff
			for _, f := range tg.Fields {
				if f.Name == "Count" {
					count = f
				}
			}
			if tg.Name != "app" || tg.Type != "Edited" || count == nil || count.Old != "1" || count.New != "2" || count.Type != "Edited" {
				t.Fatalf("plan group diff = %+v, count %+v", tg, count)
			}
			if strings.Join(count.Annotations, ",") != "forces create" {
				t.Errorf("count diff annotations = %v, want forces create", count.Annotations)
			}
			// The plan's group header, `Task Group: "app" (1 create, 1 in-place update)`,
			// comes from the group diff's Updates.
			if tg.Updates["create"] != 1 || tg.Updates["in-place update"] != 1 {
				t.Errorf("plan group updates = %v", tg.Updates)
			}
			if resp.Annotations == nil || resp.Annotations.DesiredTGUpdates["app"] == nil {
				t.Fatalf("plan annotations = %+v", resp.Annotations)
			}
			// Nomad updates the existing allocation in place to the new
			// version: "(1 create, 1 in-place update)".
			if u := resp.Annotations.DesiredTGUpdates["app"]; u.Place != 1 || u.InPlaceUpdate != 1 || u.DestructiveUpdate != 0 {
				t.Errorf("plan desired updates = %+v, want place 1, in-place 1", u)
			}
			if len(resp.FailedTGAllocs) != 0 {
				t.Errorf("plan failed groups = %v", resp.FailedTGAllocs)
			}

			// A task change replaces the allocation: the task's diff says so,
			// `Task: "main" (forces create/destroy update)`.
			changed := compatJob(agentPort, 1)
			changed.TaskGroups[0].Tasks[0].Config["args"] = []string{"-c", "echo changed; sleep 600"}
			resp, _, err = c.Jobs().PlanOpts(changed, &api.PlanOptions{Diff: true}, nil)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if u := resp.Annotations.DesiredTGUpdates["app"]; u.DestructiveUpdate != 1 {
				t.Errorf("destructive plan desired updates = %+v", u)
			}
			tasks := resp.Diff.TaskGroups[0].Tasks
			if len(tasks) != 1 || tasks[0].Name != "main" || tasks[0].Type != "Edited" ||
				strings.Join(tasks[0].Annotations, ",") != "forces create/destroy update" {
				t.Fatalf("destructive plan task diffs = %+v", tasks)
			}
			// `+/- args[1]: "echo compat-ready; sleep 600" => "echo changed; sleep 600"`
			if objs := tasks[0].Objects; len(objs) != 1 || objs[0].Name != "Config" || len(objs[0].Fields) != 1 ||
				objs[0].Fields[0].Name != "args[1]" || objs[0].Fields[0].Type != "Edited" || objs[0].Fields[0].New != "echo changed; sleep 600" {
				t.Errorf("destructive plan config diff = %+v", objs)
			}
		}},
		{"job history", func(t *testing.T) {
			runAndMonitor(t, c, compatJob(agentPort, 2))
			versions, diffs, _, err := c.Jobs().Versions("compat", true, nil)
			if err != nil || len(versions) != 2 || len(diffs) != 1 {
				t.Fatalf("versions = %d, diffs = %d, %v", len(versions), len(diffs), err)
			}
			for i, v := range versions {
				if v.Version == nil || *v.Version != uint64(1-i) || v.Stable == nil || v.SubmitTime == nil || *v.SubmitTime == 0 {
					t.Errorf("version %d: version %v stable %v submit time %v", i, v.Version, v.Stable, v.SubmitTime)
				}
			}
			if !*versions[1].Stable {
				t.Error("version 0 is not stable after its deployment succeeded")
			}
			if d := diffs[0]; d.Type != "Edited" || len(d.TaskGroups) != 1 || d.TaskGroups[0].Name != "app" {
				t.Errorf("history diff = %+v", d)
			}
		}},
		{"job status", func(t *testing.T) {
			stubs, _, err := c.Jobs().ListOptions(nil, nil)
			if err != nil || len(stubs) != 1 {
				t.Fatalf("job list = %d, %v", len(stubs), err)
			}
			s := stubs[0]
			if s.ID != "compat" || s.Type != "service" || s.Priority != 50 || s.Status != "running" || s.SubmitTime == 0 {
				t.Errorf("job stub = %+v", s)
			}
			if s.JobSummary == nil || s.JobSummary.Namespace != "default" {
				t.Errorf("job stub summary = %+v (status -namespace '*' dereferences it)", s.JobSummary)
			}
			job := jobByPrefix(t, c, "comp")
			if *job.ID != "compat" || *job.Name != "compat" || *job.SubmitTime == 0 || *job.Type != "service" ||
				*job.Priority != 50 || len(job.Datacenters) == 0 || *job.Namespace != "default" || job.Stop == nil || *job.Status != "running" {
				t.Errorf("job = %+v", job)
			}
			if job.NodePool == nil || *job.NodePool != "default" {
				t.Errorf("job node pool = %v", job.NodePool)
			}
			allocs, _, err := c.Jobs().Allocations("compat", false, nil)
			if err != nil {
				t.Fatal(err)
			}
			byStatus := map[string]int{}
			for _, al := range allocs {
				byStatus[al.ClientStatus]++
				if al.ID == "" || al.EvalID == "" || al.NodeID == "" || al.NodeName == "" || al.TaskGroup != "app" ||
					al.DesiredStatus == "" || al.CreateTime == 0 || al.ModifyTime < al.CreateTime {
					t.Errorf("alloc stub = %+v", al)
				}
			}
			evals, _, err := c.Jobs().Evaluations("compat", nil)
			if err != nil || len(evals) < 2 {
				t.Fatalf("job evaluations = %d, %v", len(evals), err)
			}
			for _, e := range evals {
				if e.ID == "" || e.Priority == 0 || e.TriggeredBy == "" || e.Status == "" || e.CreateIndex == 0 {
					t.Errorf("job eval = %+v", e)
				}
			}
			d, _, err := c.Jobs().LatestDeployment("compat", nil)
			if err != nil || d == nil {
				t.Fatalf("latest deployment = %v, %v", d, err)
			}
			if d.JobVersion != 1 {
				t.Errorf("latest deployment is of version %d, want 1", d.JobVersion)
			}
			checkDeploymentGroups(t, d, "app", 2)
			sum, _, err := c.Jobs().Summary("compat", nil)
			if err != nil || sum.Summary["app"].Running != byStatus["running"] || byStatus["running"] != 2 {
				t.Fatalf("summary %+v, allocations by status %v, %v", sum, byStatus, err)
			}
			g := sum.Summary["app"]
			if g.Queued+g.Starting+g.Failed+g.Complete+g.Lost+g.Unknown != len(allocs)-byStatus["running"] {
				t.Errorf("summary %+v does not add up to the allocations %v", g, byStatus)
			}
			if sum.Children == nil {
				t.Error("summary has no Children")
			}
		}},
		{"job inspect", func(t *testing.T) {
			job := jobByPrefix(t, c, "compat")
			versions, _, _, err := c.Jobs().Versions(*job.ID, false, nil)
			if err != nil || len(versions) != 2 || *versions[1].Version != 0 {
				t.Fatalf("versions for -version = %d, %v", len(versions), err)
			}
			sub, _, err := c.Jobs().Submission("compat", 1, nil)
			if err != nil {
				t.Fatalf("submission (inspect -hcl): %v", err)
			}
			want, _ := json.Marshal(compatJob(agentPort, 2))
			if sub.Format != "json" || sub.Source != string(want) {
				t.Errorf("submission = %s %q, want the source sent", sub.Format, sub.Source)
			}
		}},
		{"alloc status", func(t *testing.T) {
			stub := runningAllocs(t, c)[0]
			alloc := singleAlloc(t, c, stub.ID)
			if alloc.EvalID == "" || alloc.Name != "compat.app[0]" && alloc.Name != "compat.app[1]" || alloc.NodeName == "" ||
				alloc.JobID != "compat" || alloc.Job == nil || alloc.Job.Version == nil || alloc.ClientStatus != "running" ||
				alloc.DesiredStatus != "run" || alloc.CreateTime == 0 || alloc.ModifyTime == 0 {
				t.Fatalf("alloc basic info = %+v", alloc)
			}
			if alloc.DeploymentID == "" || alloc.DeploymentStatus == nil || alloc.DeploymentStatus.Healthy == nil || !*alloc.DeploymentStatus.Healthy {
				t.Errorf("alloc deployment %q, status %+v", alloc.DeploymentID, alloc.DeploymentStatus)
			}
			if m := alloc.Metrics; m == nil || m.NodesEvaluated == 0 || m.AllocationTime == 0 {
				t.Errorf("alloc metrics (status -verbose) = %+v", m)
			}
			if alloc.Job.LookupTaskGroup(alloc.TaskGroup) == nil {
				t.Error("alloc's job has not its task group (status -short)")
			}
			ar := alloc.AllocatedResources
			if ar == nil || len(ar.Shared.Networks) == 0 || !ar.Shared.Networks[0].HasPorts() || ar.Shared.Networks[0].IP == "" ||
				ar.Shared.Networks[0].DynamicPorts[0].Label != "http" {
				t.Errorf("alloc allocated networks = %+v", ar)
			}
			tr := alloc.TaskResources["main"]
			if tr == nil || tr.CPU == nil || *tr.CPU != 100 || tr.MemoryMB == nil || *tr.MemoryMB != 64 {
				t.Errorf("alloc task resources = %+v", tr)
			}
			if alloc.Resources == nil || alloc.Resources.DiskMB == nil {
				t.Errorf("alloc resources = %+v (status dereferences DiskMB)", alloc.Resources)
			}
			st := alloc.TaskStates["main"]
			if st == nil || st.State != "running" || st.StartedAt.IsZero() || len(st.Events) < 3 {
				t.Fatalf("task state = %+v", st)
			}
			types := map[string]bool{}
			for _, e := range st.Events {
				types[e.Type] = true
				if e.Time == 0 || e.DisplayMessage == "" {
					t.Errorf("task event = %+v", e)
				}
			}
			for _, want := range []string{api.TaskReceived, api.TaskSetup, api.TaskStarted} {
				if !types[want] {
					t.Errorf("task events %v lack %q", types, want)
				}
			}
			checkStats(t, c, alloc)
		}},
		{"alloc logs", func(t *testing.T) {
			alloc := singleAlloc(t, c, runningAllocs(t, c)[0].ID)
			// `alloc logs` reads from the start, `alloc logs -tail` from
			// an offset before the end, past the start of this short file.
			for origin, offset := range map[string]int64{"start": 0, "end": 4096} {
				var got strings.Builder
				waitUntil(t, 10*time.Second, "the task's output from the "+origin, func() bool {
					got.Reset()
					cancel := make(chan struct{})
					frames, errs := c.AllocFS().Logs(alloc, false, "main", "stdout", origin, offset, cancel, nil)
					defer close(cancel)
					for {
						select {
						case f, ok := <-frames:
							if !ok {
								return strings.Contains(got.String(), "compat-ready")
							}
							got.Write(f.Data)
						case err := <-errs:
							if err != nil {
								t.Logf("logs: %v", err)
							}
							return false
						case <-time.After(2 * time.Second):
							return false
						}
					}
				})
			}
		}},
		{"alloc fs", func(t *testing.T) {
			alloc := singleAlloc(t, c, runningAllocs(t, c)[0].ID)
			fs := c.AllocFS()
			root, _, err := fs.Stat(alloc, "/", nil)
			if err != nil || !root.IsDir {
				t.Fatalf("stat / = %+v, %v", root, err)
			}
			entries, _, err := fs.List(alloc, "/", nil)
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, e := range entries {
				names[e.Name] = e.IsDir
			}
			if !names["alloc"] || !names["main"] {
				t.Errorf("alloc dir entries = %v, want directories alloc and main", names)
			}
			path := "alloc/logs/main.stdout.0"
			fi, _, err := fs.Stat(alloc, path, nil)
			if err != nil || fi.IsDir || fi.Size == 0 || fi.FileMode == "" || fi.ModTime.IsZero() || fi.Name != "main.stdout.0" {
				t.Fatalf("stat %s = %+v, %v", path, fi, err)
			}
			r, err := fs.Cat(alloc, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(r)
			r.Close()
			if !strings.Contains(string(body), "compat-ready") {
				t.Errorf("cat %s = %q", path, body)
			}
			r, err = fs.ReadAt(alloc, path, 0, 6, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(r)
			r.Close()
			if string(body) != "compat" {
				t.Errorf("read at 0+6 = %q", body)
			}
			// alloc fs -f streams the file.
			cancel := make(chan struct{})
			defer close(cancel)
			frames, errs := fs.Stream(alloc, path, "start", 0, cancel, nil)
			var got strings.Builder
			for !strings.Contains(got.String(), "compat-ready") {
				select {
				case f := <-frames:
					if f != nil {
						got.Write(f.Data)
					}
				case err := <-errs:
					t.Fatalf("stream: %v", err)
				case <-time.After(5 * time.Second):
					t.Fatalf("stream gave %q", got.String())
				}
			}
		}},
		{"alloc exec", func(t *testing.T) {
			alloc := singleAlloc(t, c, runningAllocs(t, c)[0].ID)
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code, err := c.Allocations().Exec(ctx, alloc, "main", false, []string{"/bin/sh", "-c", "read x; echo got-$x; echo oops >&2; exit 3"},
				strings.NewReader("hello\n"), &stdout, &stderr, nil, nil)
			if err != nil || code != 3 || strings.TrimSpace(stdout.String()) != "got-hello" || strings.TrimSpace(stderr.String()) != "oops" {
				t.Errorf("exec = exit %d, stdout %q, stderr %q, %v", code, stdout.String(), stderr.String(), err)
			}
			// From a terminal the CLI asks for a TTY and sends its size.
			stdout.Reset()
			sizes := make(chan api.TerminalSize, 1)
			sizes <- api.TerminalSize{Height: 40, Width: 120}
			code, err = c.Allocations().Exec(ctx, alloc, "main", true, []string{"/bin/sh", "-c", "sleep 0.5; stty size; tty"},
				strings.NewReader(""), &stdout, &stderr, sizes, nil)
			if out := stdout.String(); err != nil || code != 0 || !strings.Contains(out, "40 120") || !strings.Contains(out, "/dev/pts/") {
				t.Errorf("exec -t = exit %d, output %q, %v", code, out, err)
			}
		}},
		{"node status", func(t *testing.T) {
			stubs, _, err := c.Nodes().List(&api.QueryOptions{Params: map[string]string{"os": "true"}})
			if err != nil || len(stubs) != 1 {
				t.Fatalf("node list = %d, %v", len(stubs), err)
			}
			s := stubs[0]
			if s.ID == "" || s.Datacenter != "dc1" || s.Name == "" || s.SchedulingEligibility != "eligible" || s.Status != "ready" ||
				s.Address == "" || s.Version == "" || s.Attributes["os.name"] == "" {
				t.Errorf("node stub = %+v", s)
			}
			self, err := c.Agent().Self()
			if err != nil {
				t.Fatal(err)
			}
			nodeID := self.Stats["client"]["node_id"]
			if nodeID != s.ID {
				t.Fatalf("agent self client node_id %q, node %q (node status -self)", nodeID, s.ID)
			}
			prefix, _, err := c.Nodes().PrefixList(nodeID[:8])
			if err != nil || len(prefix) != 1 {
				t.Fatalf("node prefix list = %d, %v", len(prefix), err)
			}
			node, _, err := c.Nodes().Info(nodeID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := node.Drivers["raw_exec"]; d == nil || !d.Detected || !d.Healthy || d.UpdateTime.IsZero() || d.HealthDescription == "" {
				t.Errorf("raw_exec driver info = %+v", d)
			}
			if node.Attributes["driver.raw_exec"] != "1" {
				t.Errorf("attribute driver.raw_exec = %q (node status -short lists drivers from it)", node.Attributes["driver.raw_exec"])
			}
			if len(node.Events) == 0 || node.Events[0].Timestamp.IsZero() || node.Events[0].Subsystem == "" || node.Events[0].Message == "" {
				t.Errorf("node events = %+v", node.Events)
			}
			r := node.Resources
			if r == nil || r.CPU == nil || *r.CPU == 0 || r.MemoryMB == nil || *r.MemoryMB == 0 || r.DiskMB == nil || *r.DiskMB == 0 {
				t.Errorf("node resources = %+v (node status computes totals from them)", r)
			}
			if res := node.Reserved; res != nil && (res.CPU == nil || res.MemoryMB == nil || res.DiskMB == nil) {
				t.Errorf("node reserved = %+v", res)
			}
			if node.NodeResources == nil || node.NodeResources.Cpu.CpuShares == 0 || node.NodeResources.Memory.MemoryMB == 0 {
				t.Errorf("node resources (new) = %+v", node.NodeResources)
			}
			if node.Meta == nil || node.HostVolumes == nil {
				t.Errorf("node meta %v, host volumes %v", node.Meta, node.HostVolumes)
			}
			allocs, _, err := c.Nodes().Allocations(nodeID, nil)
			if err != nil {
				t.Fatal(err)
			}
			running := 0
			for _, al := range allocs {
				if al.ClientStatus != "running" {
					continue
				}
				running++
				if al.Resources == nil || al.Resources.CPU == nil || al.Resources.MemoryMB == nil || al.Resources.DiskMB == nil || al.Job == nil || al.Job.Version == nil {
					t.Errorf("node allocation %s: resources %+v, job %v", al.ID, al.Resources, al.Job != nil)
				}
				checkStats(t, c, al)
			}
			if running != 2 {
				t.Errorf("node running allocations = %d", running)
			}
			hs, err := c.Nodes().Stats(nodeID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if hs.Uptime == 0 || hs.Memory == nil || hs.Memory.Total == 0 || len(hs.CPU) == 0 || len(hs.DiskStats) == 0 {
				t.Fatalf("host stats = %+v", hs)
			}
			// Host Resource Utilization shows the disk whose device is the
			// node's unique.storage.volume, else only the device's name.
			volume, physical := node.Attributes["unique.storage.volume"], false
			for _, d := range hs.DiskStats {
				physical = physical || d.Device == volume && d.Size > 0 && d.Used > 0
			}
			if volume == "" || !physical {
				t.Errorf("no host disk stat for unique.storage.volume %q: %+v", volume, hs.DiskStats[0])
			}
		}},
		{"eval list", func(t *testing.T) {
			evals, _, err := c.Evaluations().List(nil)
			if err != nil || len(evals) < 2 {
				t.Fatalf("eval list = %d, %v", len(evals), err)
			}
			found := false
			for _, e := range evals {
				found = found || e.ID == firstEval.ID
				if e.ID == "" || e.Priority == 0 || e.TriggeredBy == "" || e.JobID == "" || e.Namespace == "" || e.Status == "" || e.Type == "" {
					t.Errorf("eval = %+v", e)
				}
			}
			if !found {
				t.Errorf("eval list lacks the job's first evaluation %s", firstEval.ID)
			}
			// -job and -status become the job and status parameters.
			byJob, _, err := c.Evaluations().List(&api.QueryOptions{Params: map[string]string{"job": "compat", "status": "complete"}})
			if err != nil || len(byJob) < 2 {
				t.Fatalf("eval list -job compat -status complete = %d, %v", len(byJob), err)
			}
			for _, e := range byJob {
				if e.JobID != "compat" || e.Status != "complete" {
					t.Errorf("filtered eval = %s %s", e.JobID, e.Status)
				}
			}
			if none, _, err := c.Evaluations().List(&api.QueryOptions{Params: map[string]string{"job": "nope"}}); err != nil || len(none) != 0 {
				t.Errorf("eval list -job nope = %d, %v", len(none), err)
			}
		}},
		{"deployment list", func(t *testing.T) {
			ds, _, err := c.Deployments().List(nil)
			if err != nil || len(ds) != 2 {
				t.Fatalf("deployment list = %d, %v", len(ds), err)
			}
			for _, d := range ds {
				if d.ID == "" || d.JobID != "compat" || d.Status != "successful" || d.StatusDescription == "" {
					t.Errorf("deployment = %+v", d)
				}
			}
			if ds[0].JobVersion != 1 || ds[1].JobVersion != 0 {
				t.Errorf("deployments not newest first: versions %d, %d", ds[0].JobVersion, ds[1].JobVersion)
			}
		}},
		{"server members", func(t *testing.T) {
			members, err := c.Agent().Members()
			if err != nil || len(members.Members) != 1 {
				t.Fatalf("members = %+v, %v", members, err)
			}
			m := members.Members[0]
			if m.Name == "" || m.Addr == "" || m.Port == 0 || m.Status != "alive" || m.ProtocolCur == 0 {
				t.Errorf("member = %+v", m)
			}
			// server members indexes region, dc, build and port; -detailed
			// prints every tag.
			for _, k := range []string{"region", "dc", "build", "port", "role", "id", "rpc_addr", "raft_vsn", "vsn", "revision"} {
				if m.Tags[k] == "" {
					t.Errorf("member tag %q missing: %v", k, m.Tags)
				}
			}
			if m.Tags["role"] != "nomad" || m.Tags["region"] != "global" || m.Tags["dc"] != "dc1" {
				t.Errorf("member tags = %v", m.Tags)
			}
			leader, err := c.Status().RegionLeader(m.Tags["region"])
			if err != nil || leader != fmt.Sprintf("%s:%s", m.Addr, m.Tags["port"]) {
				t.Errorf("region leader %q, %v; the member is %s:%s (server members prints Leader false)", leader, err, m.Addr, m.Tags["port"])
			}
		}},
		{"agent-info", func(t *testing.T) {
			self, err := c.Agent().Self()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]string{
				"nomad":   {"server", "leader", "leader_addr", "bootstrap", "known_regions"},
				"raft":    {"state", "applied_index", "commit_index", "last_log_index", "last_log_term", "num_peers", "term"},
				"serf":    {"members", "failed", "left", "health_score", "member_time", "event_time"},
				"runtime": {"arch", "cpu_count", "goroutines", "kernel.name", "max_procs", "version"},
				"client":  {"node_id", "known_servers", "num_allocations", "last_heartbeat", "heartbeat_ttl"},
			}
			for section, keys := range want {
				for _, k := range keys {
					if self.Stats[section][k] == "" {
						t.Errorf("agent-info section %q lacks %q: %v", section, k, self.Stats[section])
					}
				}
			}
			if self.Stats["raft"]["state"] != "Leader" || self.Stats["nomad"]["leader"] != "true" {
				t.Errorf("raft state %q, nomad leader %q", self.Stats["raft"]["state"], self.Stats["nomad"]["leader"])
			}
			if self.Member.Name == "" || self.Config["Region"] != "global" || self.Config["Datacenter"] != "dc1" {
				t.Errorf("agent self member %q, config region %v dc %v", self.Member.Name, self.Config["Region"], self.Config["Datacenter"])
			}
		}},
		{"var", func(t *testing.T) {
			vars := c.Variables()
			created, _, err := vars.Create(&api.Variable{Path: "compat/config", Items: api.VariableItems{"db": "pg"}}, nil)
			if err != nil {
				t.Fatalf("var put: %v", err)
			}
			if created.Namespace != "default" || created.CreateIndex == 0 || created.ModifyIndex == 0 || created.CreateTime == 0 || created.ModifyTime == 0 {
				t.Errorf("var put response = %+v", created)
			}
			got, _, err := vars.Read("compat/config", nil)
			if err != nil || got.Items["db"] != "pg" || got.ModifyIndex != created.ModifyIndex {
				t.Fatalf("var get = %+v, %v", got, err)
			}
			if v, _, err := vars.Peek("compat/missing", nil); err != nil || v != nil {
				t.Errorf("var peek of a missing path = %v, %v", v, err)
			}
			if _, _, err := vars.Read("compat/missing", nil); !errors.Is(err, api.ErrVariablePathNotFound) {
				t.Errorf("var get of a missing path = %v", err)
			}
			metas, _, err := vars.PrefixList("compat", nil)
			if err != nil || len(metas) != 1 || metas[0].Path != "compat/config" || metas[0].ModifyTime == 0 || metas[0].Namespace != "default" {
				t.Errorf("var list = %+v, %v", metas, err)
			}
			stale := *got
			stale.ModifyIndex = got.ModifyIndex - 1
			stale.Items = api.VariableItems{"db": "mysql"}
			_, _, err = vars.CheckedUpdate(&stale, nil)
			var conflict api.ErrCASConflict
			if !errors.As(err, &conflict) || conflict.Conflict == nil || conflict.Conflict.ModifyIndex != got.ModifyIndex {
				t.Errorf("var put -check-index with a stale index = %v (%T)", err, err)
			}
			if _, err := vars.CheckedDelete("compat/config", got.ModifyIndex, nil); err != nil {
				t.Errorf("var purge -check-index: %v", err)
			}
		}},
		{"service", func(t *testing.T) {
			var regs []*api.ServiceRegistration
			waitUntil(t, 30*time.Second, "two web registrations", func() bool {
				var err error
				regs, _, err = c.Services().Get("web", nil)
				return err == nil && len(regs) == 2
			})
			stubs, _, err := c.Services().List(nil)
			if err != nil || len(stubs) != 1 || stubs[0].Namespace != "default" || len(stubs[0].Services) != 1 ||
				stubs[0].Services[0].ServiceName != "web" || strings.Join(stubs[0].Services[0].Tags, ",") != "edge,v1" {
				t.Fatalf("service list = %+v, %v", stubs, err)
			}
			for _, r := range regs {
				if r.ID == "" || r.ServiceName != "web" || r.Namespace != "default" || r.NodeID == "" || r.Datacenter != "dc1" ||
					r.JobID != "compat" || r.AllocID == "" || r.Address == "" || r.Port == 0 || r.CreateIndex == 0 || r.ModifyIndex == 0 {
					t.Errorf("registration = %+v", r)
				}
			}
		}},
		{"operator raft list-peers", func(t *testing.T) {
			conf, err := c.Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: false})
			if err != nil || len(conf.Servers) != 1 {
				t.Fatalf("raft configuration = %+v, %v", conf, err)
			}
			s := conf.Servers[0]
			members, _ := c.Agent().Members()
			if s.ID == "" || s.Address == "" || !s.Leader || !s.Voter || s.RaftProtocol != "3" {
				t.Errorf("raft server = %+v", s)
			}
			if name := members.Members[0].Name; s.Node != name {
				t.Errorf("raft server node %q, want the server's name %q", s.Node, name)
			}
			if want := fmt.Sprintf("%s:%s", members.Members[0].Addr, members.Members[0].Tags["port"]); s.Address != want {
				t.Errorf("raft server address %q, want %q", s.Address, want)
			}
		}},
		{"job status of a job that cannot be placed", func(t *testing.T) {
			job := shellJob("compat-big", "service", 2, "sleep 600")
			job.TaskGroups[0].Tasks[0].Resources.MemoryMB = ptr(1 << 30)
			resp, _, err := c.Jobs().Register(job, nil)
			if err != nil {
				t.Fatal(err)
			}
			// The monitor prints each failed group with its metrics and the
			// blocked evaluation, and exits 2.
			eval := monitorEval(t, c, resp.EvalID)
			m := eval.FailedTGAllocs["app"]
			if eval.Status != "complete" || m == nil || eval.BlockedEval == "" {
				t.Fatalf("eval %s, failed groups %v, blocked eval %q", eval.Status, eval.FailedTGAllocs, eval.BlockedEval)
			}
			if m.NodesEvaluated != 1 || m.NodesExhausted != 1 || m.DimensionExhausted["memory"] != 1 || m.CoalescedFailures != 1 {
				t.Errorf("placement failure metrics = %+v", m)
			}
			// job status shows the placement failures of the latest failed
			// evaluation while one is blocked.
			evals, _, err := c.Jobs().Evaluations("compat-big", nil)
			if err != nil {
				t.Fatal(err)
			}
			blocked := false
			for _, e := range evals {
				blocked = blocked || e.Status == "blocked" && e.ID == eval.BlockedEval
			}
			if !blocked {
				t.Errorf("job evaluations lack the blocked evaluation %s", eval.BlockedEval)
			}
			sum, _, err := c.Jobs().Summary("compat-big", nil)
			if err != nil || sum.Summary["app"].Queued != 2 {
				t.Errorf("summary of the unplaced job = %+v, %v", sum, err)
			}
			if _, _, err := c.Jobs().Deregister("compat-big", true, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"alloc status of a rescheduled allocation", func(t *testing.T) {
			job := shellJob("compat-fail", "service", 1, "exit 1")
			tg := job.TaskGroups[0]
			tg.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr("fail")}
			tg.ReschedulePolicy = &api.ReschedulePolicy{Attempts: ptr(1), Interval: ptr(time.Hour), Delay: ptr(2 * time.Second),
				DelayFunction: ptr("constant"), Unlimited: ptr(false)}
			if _, _, err := c.Jobs().Register(job, nil); err != nil {
				t.Fatal(err)
			}
			// The failed allocation names its delayed follow-up evaluation:
			// alloc status prints "Reschedule Eligibility" from its WaitUntil.
			var failed *api.Allocation
			waitUntil(t, 30*time.Second, "a failed allocation with a follow-up evaluation", func() bool {
				allocs, _, err := c.Jobs().Allocations("compat-fail", true, nil)
				if err != nil || len(allocs) == 0 || allocs[len(allocs)-1].ClientStatus != "failed" {
					return false
				}
				failed, _, err = c.Allocations().Info(allocs[len(allocs)-1].ID, nil)
				return err == nil && failed.FollowupEvalID != ""
			})
			followup, _, err := c.Evaluations().Info(failed.FollowupEvalID, nil)
			if err != nil || followup.WaitUntil.IsZero() || followup.Status != "pending" || followup.TriggeredBy == "" {
				t.Errorf("follow-up evaluation = %+v, %v", followup, err)
			}
			// The replacement carries the reschedule tracker: "Reschedule Attempts = 1/1".
			var next *api.Allocation
			waitUntil(t, 30*time.Second, "the replacement allocation", func() bool {
				f, _, err := c.Allocations().Info(failed.ID, nil)
				if err != nil || f.NextAllocation == "" {
					return false
				}
				next, _, err = c.Allocations().Info(f.NextAllocation, nil)
				return err == nil
			})
			rt := next.RescheduleTracker
			if rt == nil || len(rt.Events) != 1 || rt.Events[0].PrevAllocID != failed.ID || rt.Events[0].PrevNodeID != failed.NodeID ||
				rt.Events[0].RescheduleTime == 0 {
				t.Fatalf("reschedule tracker = %+v", rt)
			}
			if attempts, total := next.RescheduleInfo(time.Unix(0, next.ModifyTime)); attempts != 1 || total != 1 {
				t.Errorf("reschedule info = %d/%d, want 1/1", attempts, total)
			}
			if next.PreviousAllocation != failed.ID {
				t.Errorf("replacement's previous allocation = %q", next.PreviousAllocation)
			}
			if _, _, err := c.Jobs().Deregister("compat-fail", true, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"job status of a parameterized job", func(t *testing.T) {
			job := shellJob("compat-batch", "batch", 1, "echo $NOMAD_META_n")
			job.ParameterizedJob = &api.ParameterizedJobConfig{Payload: "optional", MetaRequired: []string{"n"}}
			if _, _, err := c.Jobs().Register(job, nil); err != nil {
				t.Fatal(err)
			}
			d, _, err := c.Jobs().Dispatch("compat-batch", map[string]string{"n": "1"}, nil, "", nil)
			if err != nil || d.DispatchedJobID == "" || d.EvalID == "" {
				t.Fatalf("dispatch = %+v, %v", d, err)
			}
			stubs, _, err := c.Jobs().PrefixList("compat-batch")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stubs {
				if s.ID == "compat-batch" && (!s.ParameterizedJob || s.Type != "batch") {
					t.Errorf("parent stub = %+v (type column prints batch/parameterized)", s)
				}
			}
			parent := jobByPrefix(t, c, "compat-batch")
			if !parent.IsParameterized() || parent.ParameterizedJob.Payload != "optional" || strings.Join(parent.ParameterizedJob.MetaRequired, ",") != "n" {
				t.Errorf("parent parameterized block = %+v", parent.ParameterizedJob)
			}
			children, _, err := c.Jobs().PrefixList("compat-batch" + api.JobDispatchLaunchSuffix)
			if err != nil || len(children) != 1 || children[0].ID != d.DispatchedJobID || children[0].ParentID != "compat-batch" || children[0].Status == "" {
				t.Fatalf("dispatched children = %+v, %v", children, err)
			}
			waitUntil(t, 30*time.Second, "the child counted dead in the parent's summary", func() bool {
				sum, _, err := c.Jobs().Summary("compat-batch", nil)
				return err == nil && sum.Children != nil && sum.Children.Dead == 1 && sum.Children.Pending+sum.Children.Running == 0
			})
			if _, _, err := c.Jobs().Deregister("compat-batch", true, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"job stop", func(t *testing.T) {
			job := jobByPrefix(t, c, "compat")
			evalID, _, err := c.Jobs().Deregister(*job.ID, false, nil)
			if err != nil || evalID == "" {
				t.Fatalf("deregister = %q, %v", evalID, err)
			}
			monitorEval(t, c, evalID)
			waitUntil(t, 30*time.Second, "the job dead with its allocations complete", func() bool {
				j, _, err := c.Jobs().Info("compat", nil)
				sum, _, err2 := c.Jobs().Summary("compat", nil)
				return err == nil && err2 == nil && *j.Status == "dead" && *j.Stop && sum.Summary["app"].Complete == 2 && sum.Summary["app"].Running == 0
			})
		}},
		{"job start", func(t *testing.T) {
			job := jobByPrefix(t, c, "compat")
			if job.Stop == nil || !*job.Stop || job.Version == nil || job.Region == nil || job.Namespace == nil || job.Name == nil {
				t.Fatalf("stopped job: stop %v version %v region %v namespace %v", job.Stop, job.Version, job.Region, job.Namespace)
			}
			*job.Stop = false
			resp, _, err := c.Jobs().Register(job, nil)
			if err != nil {
				t.Fatalf("re-register the job as read: %v", err)
			}
			eval := monitorEval(t, c, resp.EvalID)
			if eval.Status != "complete" {
				t.Fatalf("start eval %s: %s", eval.Status, eval.StatusDescription)
			}
			waitUntil(t, 60*time.Second, "two running allocations again", func() bool { return len(runningAllocs(t, c)) == 2 })
			// job history -p shows the start as `Stop: "true" => "false"`.
			_, diffs, _, err := c.Jobs().Versions("compat", true, nil)
			if err != nil || len(diffs) == 0 {
				t.Fatalf("versions: %d diffs, %v", len(diffs), err)
			}
			stop := ""
			for _, f := range diffs[0].Fields {
				if f.Name == "Stop" {
					stop = f.Type + " " + f.Old + " => " + f.New
				}
			}
			if stop != "Edited true => false" {
				t.Errorf("newest version's diff: Stop %q, fields %+v", stop, diffs[0].Fields)
			}
		}},
		{"system gc", func(t *testing.T) {
			if err := c.System().GarbageCollect(); err != nil {
				t.Fatalf("system gc: %v", err)
			}
			if _, _, err := c.Jobs().Info("compat", nil); err != nil {
				t.Errorf("gc removed a running job: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		if !t.Run(tc.name, tc.check) && tc.name == "job run" {
			t.FailNow()
		}
	}
}
