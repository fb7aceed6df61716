package rpc

import (
	"context"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/internal/codec/codectest"
	"github.com/roam-project/roam/structs"
)

// allocsEndpoint is a benchmark endpoint shaped as the node endpoints.
type allocsEndpoint struct{ pulled *structs.AllocsGetReply }

// Update takes a client's allocation updates.
func (allocsEndpoint) Update(args *structs.AllocUpdateArgs, reply *structs.IndexReply) error {
	reply.Index = uint64(len(args.Allocs))
	return nil
}

// Get answers with allocations and the one job they run.
func (e allocsEndpoint) Get(args *structs.AllocsGetArgs, reply *structs.AllocsGetReply) error {
	*reply = *e.pulled
	return nil
}

// BenchmarkRPCRoundTrip measures calls between agents over the RPC port,
// encoding and decoding both ways: a client's update of 100 running
// allocations, and a client fetching 100 placed allocations with their
// job.
func BenchmarkRPCRoundTrip(b *testing.B) {
	const perCall = 100
	job := codectest.SampleJob("web", perCall)
	placed := codectest.SamplePlacements(job, "a", perCall)
	pulled := &structs.AllocsGetReply{}
	ids := make([]string, len(placed))
	for i, a := range placed {
		ids[i] = a.ID
		slim := *a
		slim.Job = nil
		pulled.Allocs = append(pulled.Allocs, &slim)
		pulled.AllocJob = append(pulled.AllocJob, 0)
	}
	pulled.Jobs = []*api.Job{job}
	m, _ := startMux(b)
	if err := m.RPC().Register("Allocs", allocsEndpoint{pulled: pulled}); err != nil {
		b.Fatal(err)
	}
	pool := NewPool(serverDial)
	defer pool.Close()
	addr := m.Addr().String()
	updates := &structs.AllocUpdateArgs{Allocs: codectest.SampleClientUpdates(placed)}
	b.Run("client-update", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var reply structs.IndexReply
			if err := pool.Call(context.Background(), addr, "Allocs.Update", updates, &reply); err != nil || reply.Index != perCall {
				b.Fatalf("reply %+v, %v", reply, err)
			}
		}
		b.ReportMetric(float64(b.N*perCall)/b.Elapsed().Seconds(), "allocs/s")
	})
	b.Run("fetch-allocs", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var reply structs.AllocsGetReply
			if err := pool.Call(context.Background(), addr, "Allocs.Get", &structs.AllocsGetArgs{AllocIDs: ids}, &reply); err != nil || len(reply.Allocs) != perCall {
				b.Fatalf("%d allocations, %v", len(reply.Allocs), err)
			}
		}
		b.ReportMetric(float64(b.N*perCall)/b.Elapsed().Seconds(), "allocs/s")
	})
}
