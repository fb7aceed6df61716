package server

import (
	"encoding/json"
	"testing"

	"github.com/roam-project/roam/internal/codec/codectest"
	"github.com/roam-project/roam/structs"
)

// BenchmarkRaftEntryCodec compares encoding and decoding the body of a
// plan entry (100 placements) and of a client update entry (100
// allocations) in JSON, as Roam did, and in msgpack.
func BenchmarkRaftEntryCodec(b *testing.B) {
	job := codectest.SampleJob("web", 100)
	placed := codectest.SamplePlacements(job, "a", 100)
	for _, a := range placed {
		a.Job = nil
	}
	messages := []struct {
		name string
		t    structs.MessageType
		req  any
		new  func() any
	}{
		{"plan", structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Job: job, EvalID: "eval", Allocs: placed},
			func() any { return &structs.ApplyPlanResultsRequest{} }},
		{"client-update", structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{Allocs: codectest.SampleClientUpdates(placed)},
			func() any { return &structs.AllocClientUpdateRequest{} }},
	}
	for _, m := range messages {
		jsonBody, _ := json.Marshal(m.req)
		entry, err := encodeMessage(m.t, m.req)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.name+"/json/encode", func(b *testing.B) {
			b.SetBytes(int64(len(jsonBody)))
			for i := 0; i < b.N; i++ {
				if _, err := json.Marshal(m.req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/json/decode", func(b *testing.B) {
			b.SetBytes(int64(len(jsonBody)))
			for i := 0; i < b.N; i++ {
				if err := json.Unmarshal(jsonBody, m.new()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/msgpack/encode", func(b *testing.B) {
			b.SetBytes(int64(len(entry)))
			for i := 0; i < b.N; i++ {
				if _, err := encodeMessage(m.t, m.req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/msgpack/decode", func(b *testing.B) {
			b.SetBytes(int64(len(entry)))
			for i := 0; i < b.N; i++ {
				if err := decodeMessage(entry[1:], m.new()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
