package state

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/roam-project/roam/internal/codec/codectest"
	"github.com/roam-project/roam/structs"
)

// BenchmarkSnapshot measures writing and reading a snapshot of a store of
// 20 jobs of 500 running allocations each (a scale run's state).
func BenchmarkSnapshot(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	index := uint64(10)
	for j := 0; j < 20; j++ {
		index++
		job := codectest.SampleJob(fmt.Sprintf("job-%02d", j), 500)
		if err := s.JobRegister(index, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
			b.Fatal(err)
		}
		stored, _ := s.Snapshot().JobByID("default", *job.ID)
		placed := codectest.SamplePlacements(stored, fmt.Sprintf("j%02d", j), 500)
		index++
		if err := s.ApplyPlanResults(index, &structs.ApplyPlanResultsRequest{Job: stored, Allocs: placed, Time: 2}); err != nil {
			b.Fatal(err)
		}
		index++
		if err := s.AllocClientUpdate(index, &structs.AllocClientUpdateRequest{Allocs: codectest.SampleClientUpdates(placed), Time: 3}); err != nil {
			b.Fatal(err)
		}
	}
	var image bytes.Buffer
	if err := s.Snapshot().Persist(&image); err != nil {
		b.Fatal(err)
	}
	b.Run("persist", func(b *testing.B) {
		b.SetBytes(int64(image.Len()))
		snap := s.Snapshot()
		for i := 0; i < b.N; i++ {
			var buf bytes.Buffer
			buf.Grow(image.Len())
			if err := snap.Persist(&buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("restore", func(b *testing.B) {
		b.SetBytes(int64(image.Len()))
		for i := 0; i < b.N; i++ {
			if _, err := Restore(bytes.NewReader(image.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
