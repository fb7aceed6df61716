// Package events is the cluster's event stream: a broker that keeps the
// latest batches of state-change events in a bounded buffer and hands them
// to subscribers, each filtered by topic, key, namespace and what the
// subscriber may read, as /v1/event/stream serves them.
package events

import (
	"context"
	"sync"
)

// Topics, as Nomad names them.
const (
	TopicJob        = "Job"
	TopicAllocation = "Allocation"
	TopicEvaluation = "Evaluation"
	TopicDeployment = "Deployment"
	TopicNode       = "Node"
	TopicNodePool   = "NodePool"
	TopicService    = "Service"
	TopicAll        = "*"
)

// Event is one change to one object. Namespace is empty for objects that
// live in none (nodes, node pools).
type Event struct {
	Topic      string
	Type       string
	Key        string
	Namespace  string
	FilterKeys []string `json:",omitempty"`
	Index      uint64
	Payload    map[string]any
}

// Batch is the events of one Raft index.
type Batch struct {
	Index  uint64
	Events []Event
}

// DefaultBufferSize is how many batches a broker keeps (Nomad's
// event_buffer_size default).
const DefaultBufferSize = 100

// Broker buffers published batches and wakes subscribers. It is safe for
// concurrent use.
type Broker struct {
	mu     sync.Mutex
	size   int
	buffer []Batch
	// changed is closed and replaced at each publish.
	changed chan struct{}
}

// NewBroker returns a broker keeping the last size batches.
func NewBroker(size int) *Broker {
	if size <= 0 {
		size = DefaultBufferSize
	}
	return &Broker{size: size, changed: make(chan struct{})}
}

// Publish adds a batch; the oldest falls out of a full buffer.
func (b *Broker) Publish(batch Batch) {
	if len(batch.Events) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buffer = append(b.buffer, batch)
	if over := len(b.buffer) - b.size; over > 0 {
		b.buffer = append([]Batch(nil), b.buffer[over:]...)
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// Filter selects the events a subscriber gets.
type Filter struct {
	// Topics maps a topic (or "*") to the keys wanted; a key "*" (or no
	// keys) means all. An event's key or any of its filter keys matches.
	Topics map[string][]string
	// Namespace limits namespaced events to one namespace; "*" means all.
	Namespace string
	// Allowed says whether the subscriber may read an event; nil allows all.
	Allowed func(Event) bool
}

func (f *Filter) matches(e Event) bool {
	keys, ok := f.Topics[e.Topic]
	if !ok {
		if keys, ok = f.Topics[TopicAll]; !ok {
			return false
		}
	}
	if e.Namespace != "" && f.Namespace != TopicAll && f.Namespace != e.Namespace {
		return false
	}
	if !keyMatches(keys, e) {
		return false
	}
	return f.Allowed == nil || f.Allowed(e)
}

func keyMatches(keys []string, e Event) bool {
	if len(keys) == 0 {
		return true
	}
	for _, k := range keys {
		if k == "*" || k == e.Key {
			return true
		}
		for _, fk := range e.FilterKeys {
			if k == fk {
				return true
			}
		}
	}
	return false
}

// Subscription reads the batches after an index that a filter selects.
type Subscription struct {
	broker *Broker
	filter Filter
	last   uint64
}

// Subscribe starts reading after index (0: from the oldest buffered batch).
func (b *Broker) Subscribe(filter Filter, index uint64) *Subscription {
	return &Subscription{broker: b, filter: filter, last: index}
}

// Next waits for the next batch with events the filter selects. A
// subscriber that fell behind the buffer continues from its oldest batch.
func (s *Subscription) Next(ctx context.Context) (Batch, error) {
	for {
		s.broker.mu.Lock()
		changed := s.broker.changed
		for _, batch := range s.broker.buffer {
			if batch.Index <= s.last {
				continue
			}
			s.last = batch.Index
			out := Batch{Index: batch.Index}
			for _, e := range batch.Events {
				if s.filter.matches(e) {
					out.Events = append(out.Events, e)
				}
			}
			if len(out.Events) > 0 {
				s.broker.mu.Unlock()
				return out, nil
			}
		}
		s.broker.mu.Unlock()
		select {
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		case <-changed:
		}
	}
}
