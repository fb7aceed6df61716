package state

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func testJob(id string, count int) *api.Job {
	job := &api.Job{ID: &id, Name: &id, Namespace: ptr("default"), Type: ptr("service"), Priority: ptr(50),
		TaskGroups: []*api.TaskGroup{{Name: ptr("web"), Count: &count, Tasks: []*api.Task{{Name: "t", Driver: "raw_exec"}}}}}
	return job
}

func mustStore(t *testing.T) *Store {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJobVersions(t *testing.T) {
	cases := []struct {
		name        string
		counts      []int
		wantVersion uint64
		wantStored  int
	}{
		{"first register is version 0", []int{1}, 0, 1},
		{"identical re-register keeps the version", []int{1, 1}, 0, 1},
		{"changed spec bumps the version", []int{1, 2}, 1, 2},
		{"only six versions are kept", []int{1, 2, 3, 4, 5, 6, 7, 8}, 7, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			for i, c := range tc.counts {
				if err := s.JobRegister(uint64(10+i), &structs.JobRegisterRequest{Job: testJob("web", c), Time: 1}); err != nil {
					t.Fatal(err)
				}
			}
			snap := s.Snapshot()
			job, err := snap.JobByID("default", "web")
			if err != nil || job == nil {
				t.Fatalf("job lookup: %v %v", job, err)
			}
			if *job.Version != tc.wantVersion {
				t.Errorf("version = %d, want %d", *job.Version, tc.wantVersion)
			}
			versions, _ := snap.JobVersions("default", "web")
			if len(versions) != tc.wantStored {
				t.Errorf("stored versions = %d, want %d", len(versions), tc.wantStored)
			}
			if *versions[0].Version != tc.wantVersion {
				t.Errorf("newest stored version = %d, want %d", *versions[0].Version, tc.wantVersion)
			}
		})
	}
}

func TestJobStatusAndSummaryFollowAllocs(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 2)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
		t.Fatal(err)
	}
	alloc := &api.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
		DesiredStatus: "run", ClientStatus: "pending"}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*api.Allocation{alloc}, Time: 2}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name         string
		clientStatus string
		wantStatus   string
		want         api.TaskGroupSummary
	}{
		{"pending alloc is starting", "pending", "running", api.TaskGroupSummary{Starting: 1}},
		{"running alloc", "running", "running", api.TaskGroupSummary{Running: 1}},
		{"failed alloc leaves job dead", "failed", "dead", api.TaskGroupSummary{Failed: 1}},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			update := &api.Allocation{ID: "a1", ClientStatus: st.clientStatus}
			if err := s.AllocClientUpdate(uint64(20+i), &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{update}, Time: 3}); err != nil {
				t.Fatal(err)
			}
			snap := s.Snapshot()
			j, _ := snap.JobByID("default", "web")
			if *j.Status != st.wantStatus {
				t.Errorf("job status = %q, want %q", *j.Status, st.wantStatus)
			}
			sum, _ := snap.JobSummary("default", "web")
			if got := sum.Summary["web"]; got != st.want {
				t.Errorf("summary = %+v, want %+v", got, st.want)
			}
		})
	}
}

func TestJobDeregister(t *testing.T) {
	cases := []struct {
		name    string
		purge   bool
		wantJob bool
	}{
		{"stop keeps the job, stopped", false, true},
		{"purge removes it", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 1), Time: 1}); err != nil {
				t.Fatal(err)
			}
			if err := s.JobDeregister(11, &structs.JobDeregisterRequest{Namespace: "default", JobID: "web", Purge: tc.purge}); err != nil {
				t.Fatal(err)
			}
			job, _ := s.Snapshot().JobByID("default", "web")
			if (job != nil) != tc.wantJob {
				t.Fatalf("job present = %v, want %v", job != nil, tc.wantJob)
			}
			if job != nil && (!*job.Stop || *job.Status != "dead") {
				t.Errorf("stopped job: Stop=%v Status=%q", *job.Stop, *job.Status)
			}
		})
	}
}

func TestDeregisterUnknownJobLeavesStateUntouched(t *testing.T) {
	s := mustStore(t)
	before := s.Snapshot().LatestIndex()
	err := s.JobDeregister(5, &structs.JobDeregisterRequest{Namespace: "default", JobID: "nope"})
	if err == nil {
		t.Fatal("expected an error for an unknown job")
	}
	if after := s.Snapshot().LatestIndex(); after != before {
		t.Errorf("index moved from %d to %d on a failed write", before, after)
	}
}

func TestBlockingQueryWakesOnChange(t *testing.T) {
	s := mustStore(t)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 1), Time: 1}); err != nil {
		t.Fatal(err)
	}
	done := make(chan uint64)
	go func() {
		idx, _ := s.BlockingQuery(context.Background(), 10, time.Minute, func(snap *Snapshot) (uint64, error) {
			_, err := snap.Jobs("default", "")
			return snap.Index("jobs"), err
		})
		done <- idx
	}()
	if err := s.JobRegister(11, &structs.JobRegisterRequest{Job: testJob("api", 1), Time: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case idx := <-done:
		if idx != 11 {
			t.Errorf("woke at index %d, want 11", idx)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query did not wake on a change")
	}
}

func TestBlockingQueryTimesOutWithCurrentIndex(t *testing.T) {
	s := mustStore(t)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 1), Time: 1}); err != nil {
		t.Fatal(err)
	}
	idx, err := s.BlockingQuery(context.Background(), 10, 20*time.Millisecond, func(snap *Snapshot) (uint64, error) {
		return snap.Index("jobs"), nil
	})
	if err != nil || idx != 10 {
		t.Fatalf("got index %d err %v, want 10 and no error", idx, err)
	}
}

func TestPersistRestoreRoundTrip(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 1)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.NodeRegister(11, &structs.NodeRegisterRequest{Node: &api.Node{ID: "n1", Name: "n1", Status: "ready"}}); err != nil {
		t.Fatal(err)
	}
	alloc := &api.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", ClientStatus: "running"}
	if err := s.ApplyPlanResults(12, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*api.Allocation{alloc}}); err != nil {
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
	snap := restored.Snapshot()
	if j, _ := snap.JobByID("default", "web"); j == nil {
		t.Error("job lost in snapshot")
	}
	if n, _ := snap.NodeByID("n1"); n == nil {
		t.Error("node lost in snapshot")
	}
	if a, _ := snap.AllocByID("a1"); a == nil || a.Job == nil {
		t.Error("alloc (with its job) lost in snapshot")
	}
	if got := snap.LatestIndex(); got != 12 {
		t.Errorf("restored index = %d, want 12", got)
	}
}

func TestJobSubmissionIsKeptPerVersion(t *testing.T) {
	s := mustStore(t)
	file := &api.JobSubmission{Source: `job "web" {}`, Format: "hcl2"}
	steps := []struct {
		name       string
		apply      func(index uint64) error
		version    uint64
		wantSource string
	}{
		{"registered with its file", func(i uint64) error {
			return s.JobRegister(i, &structs.JobRegisterRequest{Job: testJob("web", 1), Submission: file})
		}, 0, file.Source},
		{"identical re-register without a file keeps it", func(i uint64) error {
			return s.JobRegister(i, &structs.JobRegisterRequest{Job: testJob("web", 1)})
		}, 0, file.Source},
		{"stopping keeps the file of its version", func(i uint64) error {
			return s.JobDeregister(i, &structs.JobDeregisterRequest{Namespace: "default", JobID: "web"})
		}, 1, file.Source},
		{"a new version sent without a file has none", func(i uint64) error {
			return s.JobRegister(i, &structs.JobRegisterRequest{Job: testJob("web", 5)})
		}, 2, ""},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.apply(uint64(10 + i)); err != nil {
				t.Fatal(err)
			}
			sub, err := s.Snapshot().JobSubmission("default", "web", st.version)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if sub != nil {
				got = sub.Source
			}
			if got != st.wantSource {
				t.Fatalf("version %d source = %q, want %q", st.version, got, st.wantSource)
			}
		})
	}
}
