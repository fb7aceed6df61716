package server

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/events"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// TestEventsOf checks the events an applied entry gives: what it wrote,
// read back from the state, with the keys subscribers filter on.
func TestEventsOf(t *testing.T) {
	store, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	job := api.NewBatchJob("web", "web", "global", 50)
	job.Namespace = ptr("default")
	job.AddTaskGroup(api.NewTaskGroup("g", 1).AddTask(api.NewTask("t", "raw_exec")))
	eval := &api.Evaluation{ID: "e1", Namespace: "default", JobID: "web", Status: structs.EvalStatusPending}
	register := &structs.JobRegisterRequest{Job: job, Eval: eval}
	pool := &structs.NodePoolUpsertRequest{Pools: []*api.NodePool{{Name: "edge"}}}
	before := store.Snapshot()
	if err := store.JobRegister(10, register); err != nil {
		t.Fatal(err)
	}
	if err := store.UpsertNodePools(11, pool); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		index uint64
		req   any
		want  []events.Event
	}{
		{name: "job registration", index: 10, req: register, want: []events.Event{
			{Topic: events.TopicJob, Type: "JobRegistered", Key: "web", Namespace: "default"},
			{Topic: events.TopicEvaluation, Type: "EvaluationUpdated", Key: "e1", Namespace: "default", FilterKeys: []string{"web"}},
		}},
		{name: "node pool", index: 11, req: pool, want: []events.Event{
			{Topic: events.TopicNodePool, Type: "NodePoolUpserted", Key: "edge"},
		}},
		{name: "nothing to say", index: 12, req: &structs.GCRequest{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := eventsOf(tc.index, tc.req, before, store.Snapshot())
			if len(got) != len(tc.want) {
				t.Fatalf("events %+v, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Topic != w.Topic || g.Type != w.Type || g.Key != w.Key || g.Namespace != w.Namespace ||
					g.Index != tc.index || len(g.FilterKeys) != len(w.FilterKeys) || g.Payload == nil {
					t.Fatalf("event %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}
