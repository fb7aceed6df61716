package state

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestChildrenSummaryFollowsChildJobs walks a periodic parent through the
// life of its children and checks the parent's Children counts after each
// step.
func TestChildrenSummaryFollowsChildJobs(t *testing.T) {
	s := mustStore(t)
	parent := testJob("cron", 1)
	parent.Type = ptr("batch")
	parent.Periodic = &api.PeriodicConfig{Spec: ptr("@every 1m")}
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: parent, Time: 1}); err != nil {
		t.Fatal(err)
	}
	child := func(id string) *api.Job {
		c := testJob(id, 1)
		c.Type = ptr("batch")
		c.ParentID = ptr("cron")
		return c
	}
	index := uint64(10)
	steps := []struct {
		name  string
		apply func(index uint64) error
		want  api.JobChildrenSummary
	}{
		{"parent alone has zero children", func(uint64) error { return nil }, api.JobChildrenSummary{}},
		{"first child is pending", func(i uint64) error {
			return s.JobRegister(i, &structs.JobRegisterRequest{Job: child("cron/periodic-1"), Time: 2})
		}, api.JobChildrenSummary{Pending: 1}},
		{"unrelated job with a similar ID is not counted", func(i uint64) error {
			return s.JobRegister(i, &structs.JobRegisterRequest{Job: testJob("cron/other", 1), Time: 2})
		}, api.JobChildrenSummary{Pending: 1}},
		{"child with a running alloc is running", func(i uint64) error {
			a := &api.Allocation{ID: "a1", Namespace: "default", JobID: "cron/periodic-1", TaskGroup: "web",
				NodeID: "n1", DesiredStatus: "run", ClientStatus: "running"}
			return s.ApplyPlanResults(i, &structs.ApplyPlanResultsRequest{Job: child("cron/periodic-1"), Allocs: []*api.Allocation{a}, Time: 3})
		}, api.JobChildrenSummary{Running: 1}},
		{"second child is pending", func(i uint64) error {
			return s.JobRegister(i, &structs.JobRegisterRequest{Job: child("cron/periodic-2"), Time: 4})
		}, api.JobChildrenSummary{Pending: 1, Running: 1}},
		{"finished child is dead", func(i uint64) error {
			up := &api.Allocation{ID: "a1", ClientStatus: "complete"}
			return s.AllocClientUpdate(i, &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{up}, Time: 5})
		}, api.JobChildrenSummary{Pending: 1, Dead: 1}},
		{"purged child is no longer counted", func(i uint64) error {
			return s.JobDeregister(i, &structs.JobDeregisterRequest{Namespace: "default", JobID: "cron/periodic-2", Purge: true})
		}, api.JobChildrenSummary{Dead: 1}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			index++
			if err := st.apply(index); err != nil {
				t.Fatal(err)
			}
			sum, err := s.Snapshot().JobSummary("default", "cron")
			if err != nil || sum == nil {
				t.Fatalf("summary: %v %v", sum, err)
			}
			if sum.Children == nil || *sum.Children != st.want {
				t.Errorf("children = %+v, want %+v", sum.Children, st.want)
			}
		})
	}
}

func TestPeriodicAndParameterizedParentsRunUntilStopped(t *testing.T) {
	cases := []struct {
		name      string
		configure func(*api.Job)
	}{
		{"periodic", func(j *api.Job) { j.Periodic = &api.PeriodicConfig{Spec: ptr("@daily")} }},
		{"parameterized", func(j *api.Job) { j.ParameterizedJob = &api.ParameterizedJobConfig{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			job := testJob("parent", 1)
			job.Type = ptr("batch")
			tc.configure(job)
			if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
				t.Fatal(err)
			}
			if j, _ := s.Snapshot().JobByID("default", "parent"); *j.Status != structs.JobStatusRunning {
				t.Errorf("registered parent status = %q, want running", *j.Status)
			}
			if err := s.JobDeregister(11, &structs.JobDeregisterRequest{Namespace: "default", JobID: "parent"}); err != nil {
				t.Fatal(err)
			}
			if j, _ := s.Snapshot().JobByID("default", "parent"); *j.Status != structs.JobStatusDead {
				t.Errorf("stopped parent status = %q, want dead", *j.Status)
			}
		})
	}
}
