package server

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/raft"

	"github.com/roam-project/roam/internal/codec/codectest"
	"github.com/roam-project/roam/structs"
)

// noHooks ignores what the FSM applies.
type noHooks struct{}

func (noHooks) evalsUpserted([]*api.Evaluation) {}
func (noHooks) capacityChanged(uint64)          {}
func (noHooks) schedulerConfigChanged()         {}

// BenchmarkFSMApply measures a follower's work for the two commonest Raft
// entries of a scale run, from the entry's bytes to the state store: a
// plan placing 100 allocations, and a client's update of 100 running
// allocations. Each iteration also encodes the entry, as the leader does.
func BenchmarkFSMApply(b *testing.B) {
	const perEntry = 100
	for _, kind := range []string{"plan", "client-update"} {
		b.Run(kind, func(b *testing.B) {
			f, err := newFSM(slog.New(slog.NewTextHandler(io.Discard, nil)), noHooks{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			index := uint64(1)
			apply := func(t structs.MessageType, req any) {
				data, err := encodeMessage(t, req)
				if err != nil {
					b.Fatal(err)
				}
				index++
				if resp := f.Apply(&raft.Log{Index: index, Data: data}); resp != nil {
					b.Fatal(resp)
				}
			}
			job := codectest.SampleJob("web", perEntry)
			apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Time: 1})
			stored, _ := f.State().Snapshot().JobByID("default", "web")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				placed := codectest.SamplePlacements(stored, fmt.Sprintf("%08x", i), perEntry)
				for _, a := range placed {
					a.Job = nil
				}
				plan := &structs.ApplyPlanResultsRequest{Job: stored, EvalID: "eval", Allocs: placed, Time: int64(i)}
				if kind == "plan" {
					apply(structs.ApplyPlanResultsRequestType, plan)
					continue
				}
				b.StopTimer()
				apply(structs.ApplyPlanResultsRequestType, plan)
				updates := codectest.SampleClientUpdates(placed)
				b.StartTimer()
				apply(structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{Allocs: updates, Time: int64(i)})
			}
			b.ReportMetric(float64(b.N*perEntry)/b.Elapsed().Seconds(), "allocs/s")
		})
	}
}
