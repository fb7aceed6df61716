package server

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func brokerEval(id, job string, priority int) *api.Evaluation {
	return &api.Evaluation{ID: id, Namespace: "default", JobID: job, Type: "service", Priority: priority, Status: "pending"}
}

func TestEvalBrokerOrderAndPerJobSerialisation(t *testing.T) {
	cases := []struct {
		name    string
		enqueue []*api.Evaluation
		want    []string // dequeue order, acking each before the next
	}{
		{"higher priority first", []*api.Evaluation{brokerEval("low", "a", 10), brokerEval("high", "b", 90)}, []string{"high", "low"}},
		{"one job at a time, newest waiting eval wins", []*api.Evaluation{brokerEval("1", "a", 50), brokerEval("2", "a", 50), brokerEval("3", "a", 50)}, []string{"1", "3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cancelled []string
			b := newEvalBroker(time.Minute, 3, nil, func(e *api.Evaluation) { cancelled = append(cancelled, e.ID) })
			b.SetEnabled(true)
			for _, e := range tc.enqueue {
				b.Enqueue(e)
			}
			for _, want := range tc.want {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				e, token, err := b.Dequeue(ctx, []string{"service"})
				cancel()
				if err != nil {
					t.Fatalf("dequeue (want %s): %v", want, err)
				}
				if e.ID != want {
					t.Fatalf("dequeued %s, want %s", e.ID, want)
				}
				if err := b.Ack(e.ID, token); err != nil {
					t.Fatal(err)
				}
			}
			if ready, unacked := b.Stats(); ready != 0 || unacked != 0 {
				t.Fatalf("broker not drained: ready=%d unacked=%d", ready, unacked)
			}
		})
	}
}

func TestEvalBrokerNackRedeliversThenFails(t *testing.T) {
	failed := make(chan string, 1)
	b := newEvalBroker(time.Minute, 2, func(e *api.Evaluation) { failed <- e.ID }, nil)
	b.SetEnabled(true)
	b.Enqueue(brokerEval("e", "a", 50))
	for i := 0; i < 2; i++ {
		e, token, err := b.Dequeue(context.Background(), []string{"service"})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Nack(e.ID, token); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case id := <-failed:
		if id != "e" {
			t.Fatalf("failed %s, want e", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("evaluation past its delivery limit was not failed")
	}
}

func TestEvalBrokerHoldsDelayedEvals(t *testing.T) {
	b := newEvalBroker(time.Minute, 3, nil, nil)
	b.SetEnabled(true)
	e := brokerEval("later", "a", 50)
	e.WaitUntil = time.Now().Add(300 * time.Millisecond)
	b.Enqueue(e)
	if ready, _ := b.Stats(); ready != 0 {
		t.Fatal("delayed evaluation was ready at once")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, _, err := b.Dequeue(ctx, []string{"service"})
	if err != nil || got.ID != "later" {
		t.Fatalf("dequeue: %v %v", got, err)
	}
	if time.Now().Before(e.WaitUntil) {
		t.Fatal("delayed evaluation delivered before its time")
	}
}
