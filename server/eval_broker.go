package server

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"
)

// errBrokerDisabled is returned by a broker that is not running (this
// server is not the leader).
var errBrokerDisabled = errors.New("eval broker disabled")

// evalBroker hands pending evaluations to scheduler workers, highest
// priority first, and at most one at a time per job so that two workers
// never schedule one job concurrently. A worker acks an evaluation when
// done or nacks it to have it redelivered (up to deliveryLimit times).
type evalBroker struct {
	mu            sync.Mutex
	enabled       bool
	ready         evalHeap
	unacked       map[string]*unackedEval
	jobBusy       map[jobKey]bool
	jobWaiting    map[jobKey][]*api.Evaluation
	deliveries    map[string]int
	deliveryLimit int
	nackTimeout   time.Duration
	wake          chan struct{}
	// failed receives evaluations that reached the delivery limit;
	// cancelled receives evaluations superseded by a newer one of the job.
	failed, cancelled func(e *api.Evaluation)
}

type jobKey struct{ namespace, id string }

type unackedEval struct {
	eval  *api.Evaluation
	token string
	timer *time.Timer
}

func newEvalBroker(nackTimeout time.Duration, deliveryLimit int, failed, cancelled func(*api.Evaluation)) *evalBroker {
	return &evalBroker{
		unacked:       map[string]*unackedEval{},
		jobBusy:       map[jobKey]bool{},
		jobWaiting:    map[jobKey][]*api.Evaluation{},
		deliveries:    map[string]int{},
		deliveryLimit: deliveryLimit,
		nackTimeout:   nackTimeout,
		wake:          make(chan struct{}),
		failed:        failed,
		cancelled:     cancelled,
	}
}

// SetEnabled turns the broker on (leader) or off, dropping its contents.
func (b *evalBroker) SetEnabled(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = on
	if !on {
		for _, u := range b.unacked {
			u.timer.Stop()
		}
		b.ready = nil
		b.unacked = map[string]*unackedEval{}
		b.jobBusy = map[jobKey]bool{}
		b.jobWaiting = map[jobKey][]*api.Evaluation{}
		b.deliveries = map[string]int{}
	}
	b.broadcast()
}

// Enabled reports whether the broker hands out evaluations.
func (b *evalBroker) Enabled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.enabled
}

// Enqueue adds a pending evaluation. One that must wait (WaitUntil, as
// delayed reschedules set) becomes ready when its time comes.
func (b *evalBroker) Enqueue(e *api.Evaluation) {
	if wait := time.Until(e.WaitUntil); !e.WaitUntil.IsZero() && wait > 0 {
		time.AfterFunc(wait, func() { b.enqueueNow(e) })
		return
	}
	b.enqueueNow(e)
}

func (b *evalBroker) enqueueNow(e *api.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	if _, ok := b.unacked[e.ID]; ok {
		return
	}
	key := jobKey{e.Namespace, e.JobID}
	if b.jobBusy[key] {
		for _, w := range b.jobWaiting[key] {
			if w.ID == e.ID {
				return
			}
		}
		b.jobWaiting[key] = append(b.jobWaiting[key], e)
		return
	}
	for _, r := range b.ready {
		if r.ID == e.ID {
			return
		}
	}
	b.jobBusy[key] = true
	heap.Push(&b.ready, e)
	b.broadcast()
}

// Dequeue waits for an evaluation of one of the scheduler types and returns
// it with the token that acks it.
func (b *evalBroker) Dequeue(ctx context.Context, types []string) (*api.Evaluation, string, error) {
	for {
		b.mu.Lock()
		if !b.enabled {
			wake := b.wake
			b.mu.Unlock()
			select {
			case <-ctx.Done():
				return nil, "", ctx.Err()
			case <-wake:
				continue
			}
		}
		if e := b.popReady(types); e != nil {
			token, _ := uuid.GenerateUUID()
			u := &unackedEval{eval: e, token: token}
			u.timer = time.AfterFunc(b.nackTimeout, func() { _ = b.Nack(e.ID, token) })
			b.unacked[e.ID] = u
			b.deliveries[e.ID]++
			b.mu.Unlock()
			return e, token, nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-wake:
		}
	}
}

func (b *evalBroker) popReady(types []string) *api.Evaluation {
	var skipped []*api.Evaluation
	defer func() {
		for _, s := range skipped {
			heap.Push(&b.ready, s)
		}
	}()
	for b.ready.Len() > 0 {
		e := heap.Pop(&b.ready).(*api.Evaluation)
		for _, t := range types {
			if e.Type == t {
				return e
			}
		}
		skipped = append(skipped, e)
	}
	return nil
}

// Ack marks an evaluation processed and releases the job's next one.
func (b *evalBroker) Ack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.takeUnacked(evalID, token)
	if err != nil {
		return err
	}
	delete(b.deliveries, evalID)
	b.releaseJob(jobKey{u.eval.Namespace, u.eval.JobID})
	return nil
}

// Nack returns an evaluation for redelivery, or fails it past the limit.
func (b *evalBroker) Nack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.takeUnacked(evalID, token)
	if err != nil {
		return err
	}
	if b.deliveries[evalID] >= b.deliveryLimit {
		delete(b.deliveries, evalID)
		b.releaseJob(jobKey{u.eval.Namespace, u.eval.JobID})
		if b.failed != nil {
			go b.failed(u.eval)
		}
		return nil
	}
	heap.Push(&b.ready, u.eval)
	b.broadcast()
	return nil
}

func (b *evalBroker) takeUnacked(evalID, token string) (*unackedEval, error) {
	u, ok := b.unacked[evalID]
	if !ok || u.token != token {
		return nil, errors.New("evaluation ID or token not outstanding")
	}
	u.timer.Stop()
	delete(b.unacked, evalID)
	return u, nil
}

// releaseJob lets the next waiting evaluation of a job become ready. Waiting
// evaluations of one job are coalesced: the newest runs, since a scheduler
// always works from the newest state.
func (b *evalBroker) releaseJob(key jobKey) {
	waiting := b.jobWaiting[key]
	delete(b.jobWaiting, key)
	if len(waiting) == 0 {
		delete(b.jobBusy, key)
		return
	}
	next := waiting[len(waiting)-1]
	for _, w := range waiting[:len(waiting)-1] {
		if b.cancelled != nil {
			go b.cancelled(w)
		}
	}
	heap.Push(&b.ready, next)
	b.broadcast()
}

// Stats reports how many evaluations are ready and unacked.
func (b *evalBroker) Stats() (ready, unacked int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ready.Len(), len(b.unacked)
}

func (b *evalBroker) broadcast() {
	close(b.wake)
	b.wake = make(chan struct{})
}

// evalHeap orders evaluations by priority, then age.
type evalHeap []*api.Evaluation

func (h evalHeap) Len() int { return len(h) }
func (h evalHeap) Less(i, j int) bool {
	if h[i].Priority != h[j].Priority {
		return h[i].Priority > h[j].Priority
	}
	return h[i].CreateIndex < h[j].CreateIndex
}
func (h evalHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evalHeap) Push(x any)   { *h = append(*h, x.(*api.Evaluation)) }
func (h *evalHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
