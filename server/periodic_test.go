package server

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// everySecond is a cron spec (with cronexpr's seconds field) that fires
// every second.
const everySecond = "* * * * * * *"

// batchJob is a batch job of one sleeping task, canonicalized after
// configure has set its periodic or parameterized block.
func batchJob(id string, configure func(*api.Job)) *api.Job {
	count, mem := 1, 64
	job := &api.Job{ID: &id, Name: &id, Type: ptr("batch"), Datacenters: []string{"dc1"}, TaskGroups: []*api.TaskGroup{{
		Name: ptr("work"), Count: &count,
		Tasks: []*api.Task{{Name: "sleep", Driver: "raw_exec", Config: map[string]any{"command": "/bin/sleep", "args": []any{"1000"}},
			Resources: &api.Resources{CPU: ptr(100), MemoryMB: &mem}}},
	}}}
	if configure != nil {
		configure(job)
	}
	job.Canonicalize()
	return job
}

func periodicJob(id, spec string, prohibitOverlap bool) *api.Job {
	return batchJob(id, func(j *api.Job) {
		j.Periodic = &api.PeriodicConfig{Spec: ptr(spec), ProhibitOverlap: ptr(prohibitOverlap)}
	})
}

// childrenOf lists the stored children of a job.
func childrenOf(t testing.TB, s *Server, parentID string) []*api.Job {
	t.Helper()
	jobs, err := s.State().Snapshot().Jobs("default", parentID+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []*api.Job
	for _, j := range jobs {
		if j.ParentID != nil && *j.ParentID == parentID {
			out = append(out, j)
		}
	}
	return out
}

func mustRegister(t testing.TB, s *Server, job *api.Job) *structs.JobRegisterReply {
	t.Helper()
	res, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job})
	if err != nil {
		t.Fatalf("register %s: %v", *job.ID, err)
	}
	return res
}

func TestPeriodicJobLaunchesPlacedChildren(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n1", 8192)); err != nil {
		t.Fatal(err)
	}
	res := mustRegister(t, s, periodicJob("report", everySecond, false))
	if res.EvalID != "" {
		t.Errorf("periodic parent got evaluation %s, want none", res.EvalID)
	}
	waitFor(t, "two launched children", func() bool { return len(childrenOf(t, s, "report")) >= 2 })
	for _, child := range childrenOf(t, s, "report") {
		launch, ok := strings.CutPrefix(*child.ID, "report/periodic-")
		if _, err := strconv.ParseInt(launch, 10, 64); !ok || err != nil {
			t.Errorf("child ID %q is not report/periodic-<unix>", *child.ID)
		}
		if child.Periodic != nil || *child.Name != *child.ID {
			t.Errorf("child %s: Periodic=%v Name=%q, want no schedule and its ID as name", *child.ID, child.Periodic, *child.Name)
		}
		waitFor(t, "placement of "+*child.ID, func() bool { return len(liveAllocs(t, s, *child.ID)) == 1 })
	}
	waitFor(t, "children in the parent's summary", func() bool {
		sum, _ := s.State().Snapshot().JobSummary("default", "report")
		return sum != nil && sum.Children != nil && sum.Children.Running >= 2
	})
}

func TestPeriodicStoppedOrDisabledParentLaunchesNothing(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n1", 8192)); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, s, periodicJob("stopped", everySecond, false))
	waitFor(t, "a first child", func() bool { return len(childrenOf(t, s, "stopped")) >= 1 })
	if _, _, err := s.DeregisterJob("", "default", "stopped", false); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now().Unix()
	disabled := periodicJob("disabled", everySecond, false)
	disabled.Periodic.Enabled = ptr(false)
	mustRegister(t, s, disabled)
	// The control job is registered after the stop, so by the time it has
	// launched twice the dispatcher has seen the stop and two launch times.
	mustRegister(t, s, periodicJob("control", everySecond, false))
	waitFor(t, "two control launches", func() bool { return len(childrenOf(t, s, "control")) >= 2 })

	for _, child := range childrenOf(t, s, "stopped") {
		launch, _ := strconv.ParseInt(strings.TrimPrefix(*child.ID, "stopped/periodic-"), 10, 64)
		if launch > stoppedAt {
			t.Errorf("stopped parent launched %s after its stop at %d", *child.ID, stoppedAt)
		}
	}
	if n := len(childrenOf(t, s, "disabled")); n != 0 {
		t.Errorf("disabled periodic job launched %d children", n)
	}
}

func TestPeriodicProhibitOverlapWaitsForRunningChild(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n1", 8192)); err != nil {
		t.Fatal(err)
	}
	// No client runs the allocations, so every child stays running.
	mustRegister(t, s, periodicJob("exclusive", everySecond, true))
	mustRegister(t, s, periodicJob("overlapping", everySecond, false))
	waitFor(t, "three overlapping launches", func() bool { return len(childrenOf(t, s, "overlapping")) >= 3 })
	if n := len(childrenOf(t, s, "exclusive")); n != 1 {
		t.Fatalf("prohibit_overlap job has %d children while its first runs, want 1", n)
	}

	// Force ignores prohibit_overlap, as Nomad documents.
	res, err := s.ForcePeriodicRun("default", "exclusive")
	if err != nil {
		t.Fatal(err)
	}
	if res.EvalID == "" {
		t.Error("forced launch has no evaluation")
	}
	waitFor(t, "forced child", func() bool { return len(childrenOf(t, s, "exclusive")) == 2 })
}

func TestForcePeriodicRun(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n1", 8192)); err != nil {
		t.Fatal(err)
	}
	disabled := periodicJob("disabled", "@yearly", false)
	disabled.Periodic.Enabled = ptr(false)
	for _, j := range []*api.Job{periodicJob("yearly", "@yearly", false), disabled, batchJob("plain", nil), periodicJob("stopped", "@yearly", false)} {
		mustRegister(t, s, j)
	}
	if _, _, err := s.DeregisterJob("", "default", "stopped", false); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		jobID   string
		wantErr error
		wantMsg string
	}{
		{"periodic job launches a child", "yearly", nil, ""},
		{"non-periodic job", "plain", ErrInvalid, "can't force launch non-periodic job"},
		{"disabled periodic job", "disabled", ErrInvalid, "can't force launch non-periodic job"},
		{"stopped periodic job", "stopped", ErrInvalid, "can't force launch non-periodic job"},
		{"unknown job", "nope", ErrNotFound, "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.ForcePeriodicRun("default", tc.jobID)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "forced child placed", func() bool {
				e, _ := s.State().Snapshot().EvalByID(res.EvalID)
				if e == nil || e.Status != structs.EvalStatusComplete {
					return false
				}
				return strings.HasPrefix(e.JobID, tc.jobID+"/periodic-") && len(liveAllocs(t, s, e.JobID)) == 1
			})
		})
	}
}

func TestNextLaunch(t *testing.T) {
	from := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		cfg  api.PeriodicConfig
		want time.Time
	}{
		{"single spec", api.PeriodicConfig{Spec: ptr("0 12 * * *")}, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"earliest of several specs", api.PeriodicConfig{Specs: []string{"0 18 * * *", "45 10 * * *"}}, time.Date(2026, 3, 1, 10, 45, 0, 0, time.UTC)},
		{"time zone", api.PeriodicConfig{Spec: ptr("0 12 * * *"), TimeZone: ptr("America/New_York")}, time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := nextLaunch(&tc.cfg, from)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("next = %v, want %v", got.UTC(), tc.want)
			}
		})
	}
	if _, err := nextLaunch(&api.PeriodicConfig{Spec: ptr("0 12 * *")}, from); err == nil {
		t.Error("bad spec: want an error")
	}
	if _, err := nextLaunch(&api.PeriodicConfig{Spec: ptr("@daily"), TimeZone: ptr("Mars/Olympus")}, from); err == nil {
		t.Error("bad time zone: want an error")
	}
}
