package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// nextEvents waits for the next batch on an event stream.
func nextEvents(t *testing.T, ch <-chan *api.Events) *api.Events {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event stream closed")
		}
		if ev.Err != nil {
			t.Fatalf("event stream: %v", ev.Err)
		}
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15s")
	}
	return nil
}

// TestEventStream reads /v1/event/stream with the Go client's EventStream:
// events written before the subscription are replayed from index 0, a
// topic key narrows them, a token reading one namespace sees only its
// events, and a topic it may not read is refused.
func TestEventStream(t *testing.T) {
	a := launchDevAgent(t, "acl {\n  enabled = true\n}\n")
	waitUntil(t, 30*time.Second, "the HTTP API", func() bool {
		_, err := a.client.Status().Leader()
		return err == nil
	})
	boot, _, err := a.client.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatal(err)
	}
	a.client.SetSecretID(boot.SecretID)
	if _, err := a.client.Namespaces().Register(&api.Namespace{Name: "prod"}, nil); err != nil {
		t.Fatal(err)
	}
	never := func(id, ns string) *api.Job {
		job := shellJob(id, "batch", 1, "exit 0")
		job.Namespace = ptr(ns)
		job.Constraints = []*api.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "none", Operand: "="}}
		return job
	}
	reg, _, err := a.client.Jobs().Register(never("web", "default"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.client.Jobs().Register(never("secret", "prod"), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Management, all namespaces, one job's key: only web's events.
	stream, err := a.client.EventStream().Stream(ctx, map[api.Topic][]string{api.TopicJob: {"web"}, api.TopicEvaluation: {"web"}}, 0,
		&api.QueryOptions{Namespace: "*"})
	if err != nil {
		t.Fatal(err)
	}
	first := nextEvents(t, stream)
	if len(first.Events) != 2 || first.Events[0].Topic != api.TopicJob || first.Events[0].Type != "JobRegistered" ||
		first.Events[1].Topic != api.TopicEvaluation || first.Events[1].Key != reg.EvalID {
		t.Fatalf("first batch = %+v", first)
	}
	job, err := first.Events[0].Job()
	if err != nil || job == nil || *job.ID != "web" {
		t.Fatalf("job payload = %v, %v", job, err)
	}

	// A token reading default only.
	policy := &api.ACLPolicy{Name: "read-default", Rules: `namespace "default" { policy = "read" }`}
	if _, err := a.client.ACLPolicies().Upsert(policy, nil); err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.client.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"read-default"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := api.NewClient(&api.Config{Address: a.addr, SecretID: tok.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	all, err := reader.EventStream().Stream(ctx, map[api.Topic][]string{api.TopicAll: nil}, 0, &api.QueryOptions{Namespace: "*"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(2 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-all:
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			for _, e := range ev.Events {
				if e.Topic == api.TopicNode || e.Key == "secret" || e.FilterKeys != nil && e.FilterKeys[0] == "secret" {
					t.Fatalf("token reading default got %s %s %s", e.Topic, e.Type, e.Key)
				}
			}
		case <-deadline:
			done = true
		}
	}
	if _, err := reader.EventStream().Stream(ctx, map[api.Topic][]string{api.TopicNode: nil}, 0, nil); err == nil {
		t.Fatal("node topic without node read: no error")
	}

	// New events arrive live.
	live, err := a.client.EventStream().Stream(ctx, map[api.Topic][]string{api.TopicNodePool: nil}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.NodePools().Register(&api.NodePool{Name: "edge"}, nil); err != nil {
		t.Fatal(err)
	}
	for {
		ev := nextEvents(t, live)
		if ev.Events[0].Key != "edge" {
			continue // the default pool's node registered it first
		}
		if pool, err := ev.Events[0].NodePool(); err != nil || pool.Name != "edge" || ev.Events[0].Type != "NodePoolUpserted" {
			t.Fatalf("node pool event = %+v, %v", ev.Events[0], err)
		}
		break
	}
}
