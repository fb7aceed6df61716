package template

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/roam-project/roam/structs"
)

// Retry delays after a failed read, doubling up to the maximum.
const (
	retryMin = 250 * time.Millisecond
	retryMax = 15 * time.Second
)

// DefaultBlockQueryWait is how long one blocking read waits for a change
// when the client's template block sets no block_query_wait (Nomad's 5m).
const DefaultBlockQueryWait = 5 * time.Minute

// watcher keeps the latest value of every lookup a task's templates made,
// each refreshed by its own loop of blocking reads, and wakes the
// templates that used a lookup when its value changes.
type watcher struct {
	ctx       context.Context
	src       Source
	token     func() string
	queryWait time.Duration
	logger    *slog.Logger

	mu      sync.Mutex
	entries map[lookup]*entry
}

// entry is one lookup's latest answer.
type entry struct {
	// value is a *api.Variable (nil when none exists), a
	// []*api.VariableMetadata or a []*api.ServiceRegistration.
	value any
	ready bool
	err   error
	subs  map[chan struct{}]bool
}

func newWatcher(ctx context.Context, src Source, token func() string, queryWait time.Duration, logger *slog.Logger) *watcher {
	if queryWait <= 0 {
		queryWait = DefaultBlockQueryWait
	}
	return &watcher{ctx: ctx, src: src, token: token, queryWait: queryWait, logger: logger, entries: map[lookup]*entry{}}
}

// get returns l's latest value, starting to watch it on first use, and
// subscribes sub to its changes. ready is false until the first answer.
func (w *watcher) get(l lookup, sub chan struct{}) (value any, ready bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.entries[l]
	if e == nil {
		e = &entry{subs: map[chan struct{}]bool{}}
		w.entries[l] = e
		go w.watch(l, e)
	}
	e.subs[sub] = true
	return e.value, e.ready, e.err
}

// watch refreshes e until the watcher's context ends.
func (w *watcher) watch(l lookup, e *entry) {
	var index uint64
	delay := retryMin
	for w.ctx.Err() == nil {
		value, next, err := w.fetch(l, index)
		if err != nil {
			if w.ctx.Err() != nil {
				return
			}
			if isPermissionDenied(err) {
				w.update(e, nil, err)
			}
			w.logger.Warn("template lookup failed", "lookup", l.String(), "error", err, "retry_in", delay)
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, retryMax)
			continue
		}
		delay = retryMin
		if next < index {
			// The index went back (a restored snapshot): start over.
			next = 0
		}
		index = next
		w.update(e, value, nil)
	}
}

// update records an answer and wakes the subscribers when it differs.
func (w *watcher) update(e *entry, value any, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.ready && reflect.DeepEqual(e.value, value) && sameError(e.err, err) {
		return
	}
	e.value, e.err, e.ready = value, err, true
	for sub := range e.subs {
		select {
		case sub <- struct{}{}:
		default:
		}
	}
}

// fetch makes one blocking read of l past index.
func (w *watcher) fetch(l lookup, index uint64) (any, uint64, error) {
	if w.src == nil {
		return nil, 0, fmt.Errorf("no servers to look %s up from", l)
	}
	q := structs.QueryArgs{Namespace: l.namespace, MinIndex: index, Wait: w.queryWait}
	if w.token != nil {
		q.AuthToken = w.token()
	}
	switch l.kind {
	case lookupVar:
		r, err := w.src.ReadVar(w.ctx, &structs.VarReadArgs{Path: l.key, QueryArgs: q})
		if err != nil {
			return nil, 0, err
		}
		return r.Var, r.Index, nil
	case lookupVarList:
		r, err := w.src.ListVars(w.ctx, &structs.VarListArgs{Prefix: l.key, QueryArgs: q})
		if err != nil {
			return nil, 0, err
		}
		return r.Vars, r.Index, nil
	case lookupService, lookupServices:
		r, err := w.src.ListServiceRegistrations(w.ctx, &structs.ServiceListArgs{Name: l.key, QueryArgs: q})
		if err != nil {
			return nil, 0, err
		}
		return r.Services, r.Index, nil
	}
	return nil, 0, fmt.Errorf("unknown lookup %v", l)
}

// isPermissionDenied reports whether the servers refused a read for its
// token. The refusal crosses the RPC connection as text, so it is
// recognised by Nomad's wording.
func isPermissionDenied(err error) bool {
	return strings.Contains(err.Error(), "Permission denied")
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}
