package events

import (
	"context"
	"errors"
	"testing"
	"time"
)

func batch(index uint64, evs ...Event) Batch {
	for i := range evs {
		evs[i].Index = index
	}
	return Batch{Index: index, Events: evs}
}

func TestSubscriptionFilters(t *testing.T) {
	job := Event{Topic: TopicJob, Key: "web", Namespace: "default"}
	prodJob := Event{Topic: TopicJob, Key: "web", Namespace: "prod"}
	eval := Event{Topic: TopicEvaluation, Key: "e1", Namespace: "default", FilterKeys: []string{"web"}}
	node := Event{Topic: TopicNode, Key: "n1"}
	cases := []struct {
		name   string
		filter Filter
		index  uint64
		want   []uint64
	}{
		{name: "all topics", filter: Filter{Topics: map[string][]string{"*": {"*"}}, Namespace: "default"}, want: []uint64{1, 2, 4}},
		{name: "all namespaces", filter: Filter{Topics: map[string][]string{"*": nil}, Namespace: "*"}, want: []uint64{1, 2, 3, 4}},
		{name: "one topic", filter: Filter{Topics: map[string][]string{TopicNode: nil}, Namespace: "default"}, want: []uint64{4}},
		{name: "filter key", filter: Filter{Topics: map[string][]string{TopicEvaluation: {"web"}}, Namespace: "default"}, want: []uint64{2}},
		{name: "other key", filter: Filter{Topics: map[string][]string{TopicJob: {"api"}}, Namespace: "*"}},
		{name: "after an index", filter: Filter{Topics: map[string][]string{"*": nil}, Namespace: "*"}, index: 2, want: []uint64{3, 4}},
		{name: "ACL", filter: Filter{Topics: map[string][]string{"*": nil}, Namespace: "*",
			Allowed: func(e Event) bool { return e.Namespace == "prod" }}, want: []uint64{3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBroker(10)
			b.Publish(batch(1, job))
			b.Publish(batch(2, eval))
			b.Publish(batch(3, prodJob))
			b.Publish(batch(4, node))
			sub := b.Subscribe(tc.filter, tc.index)
			var got []uint64
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				batch, err := sub.Next(ctx)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					break
				}
				got = append(got, batch.Index)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got batches %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got batches %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestBufferIsBoundedAndWakesSubscribers(t *testing.T) {
	b := NewBroker(2)
	for i := uint64(1); i <= 5; i++ {
		b.Publish(batch(i, Event{Topic: TopicNode, Key: "n"}))
	}
	sub := b.Subscribe(Filter{Topics: map[string][]string{"*": nil}}, 0)
	first, err := sub.Next(context.Background())
	if err != nil || first.Index != 4 {
		t.Fatalf("first batch %d, %v; want 4, the oldest kept", first.Index, err)
	}
	if _, err := sub.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan Batch)
	go func() {
		next, _ := sub.Next(context.Background())
		done <- next
	}()
	b.Publish(batch(6, Event{Topic: TopicNode, Key: "n"}))
	if next := <-done; next.Index != 6 {
		t.Fatalf("woken with %d, want 6", next.Index)
	}
}
