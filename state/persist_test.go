package state

import (
	"bytes"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestAllocationsShareTheirJob checks that the allocations of one job
// version hold one job, not a copy each: as placed by a plan (the job as
// stored when they were placed), and as restored from a snapshot, which
// writes the job once (and restores it as the stored job).
func TestAllocationsShareTheirJob(t *testing.T) {
	s := mustStore(t)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 3), Time: 1}); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Snapshot().JobByID("default", "web")
	// A plan carries its own decoded copy of the job, as after Raft.
	planJob := *stored
	var allocs []*api.Allocation
	for _, id := range []string{"a1", "a2", "a3"} {
		allocs = append(allocs, &api.Allocation{ID: id, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
			DesiredStatus: "run", ClientStatus: "pending"})
	}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: &planJob, Allocs: allocs, Time: 2}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	image := buf.Bytes()
	restored, err := Restore(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(image, []byte("TaskGroups")); n != 3 {
		t.Errorf("the snapshot holds %d jobs, want 3 (current, version 0, one for the allocations)", n)
	}
	counts, err := CountRecords(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	if counts[allocJobsTable] != 0 || counts[tableAllocs] != 3 {
		t.Errorf("record counts %v: want 3 allocs and no internal job records", counts)
	}
	stores := []struct {
		name        string
		store       *Store
		holdsStored bool
	}{{"live", s, false}, {"restored", restored, true}}
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.store.Snapshot()
			got, _ := snap.AllocsByJob("default", "web")
			if len(got) != 3 {
				t.Fatalf("%d allocations, want 3", len(got))
			}
			shared := got[0].Job
			if job, _ := snap.JobByID("default", "web"); tc.holdsStored && shared != job {
				t.Errorf("allocations hold %p, not the stored job %p", shared, job)
			}
			for _, a := range got {
				if a.Job == nil || a.Job != shared || a.Job == &planJob {
					t.Errorf("allocation %s holds job %p, want the one job %p shared by all (not the plan's copy)", a.ID, a.Job, shared)
				}
			}
		})
	}
}
