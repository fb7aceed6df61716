package agent

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/events"
)

// eventHeartbeat is how often an idle event stream writes "{}", as
// Nomad's does, so that clients and proxies see the connection alive.
const eventHeartbeat = 10 * time.Second

// eventTopics reads the ?topic=Topic[:key] parameters; none means every
// topic.
func eventTopics(r *http.Request) (map[string][]string, error) {
	topics := map[string][]string{}
	for _, t := range r.URL.Query()["topic"] {
		topic, key, ok := strings.Cut(t, ":")
		if topic == "" {
			return nil, codedError(http.StatusBadRequest, "Invalid topic %q: want Topic or Topic:key", t)
		}
		if !ok {
			key = "*"
		}
		topics[topic] = append(topics[topic], key)
	}
	if len(topics) == 0 {
		topics[events.TopicAll] = []string{"*"}
	}
	return topics, nil
}

// eventStream serves /v1/event/stream: newline-delimited JSON batches of
// the events after ?index, of the ?topic (and keys) asked for, in
// ?namespace ("*": all), that the token may read.
func (h *httpAPI) eventStream(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.writeError(w, r, methodNotAllowed())
		return
	}
	topics, err := eventTopics(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var index uint64
	if v := r.URL.Query().Get("index"); v != "" {
		if index, err = strconv.ParseUint(v, 10, 64); err != nil {
			h.writeError(w, r, codedError(http.StatusBadRequest, "Invalid index: %v", err))
			return
		}
	}
	allowed := callerACL(r)
	sub := h.srv.Events(events.Filter{Topics: topics, Namespace: namespaceOf(r),
		Allowed: func(e events.Event) bool { return eventReadable(allowed, e) }}, index)

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	flush()
	enc := json.NewEncoder(w)
	batches := make(chan events.Batch)
	ctx := r.Context()
	go func() {
		defer close(batches)
		for {
			b, err := sub.Next(ctx)
			if err != nil {
				return
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	beat := time.NewTicker(eventHeartbeat)
	defer beat.Stop()
	for {
		var out any = struct{}{}
		select {
		case <-ctx.Done():
			return
		case <-h.stopping:
			return
		case <-beat.C:
		case b, ok := <-batches:
			if !ok {
				return
			}
			out = b
		}
		if err := enc.Encode(out); err != nil {
			return
		}
		flush()
	}
}

// eventReadable reports whether a token may read an event: read-job in
// its namespace for the job topics, node read for nodes, the pool's read
// capability for node pools.
func eventReadable(a *acl.ACL, e events.Event) bool {
	switch e.Topic {
	case events.TopicNode:
		return a.AllowNodeRead()
	case events.TopicNodePool:
		return a.AllowNodePoolOperation(e.Key, acl.NodePoolCapabilityRead)
	}
	return a.AllowNamespaceOperation(e.Namespace, acl.NamespaceCapabilityReadJob)
}

// eventStreamRule: every topic asked for by name must be readable in the
// request's namespace (node read for nodes); "*" and NodePool are for any
// token, their events filtered one by one.
func eventStreamRule(r *http.Request, a *acl.ACL) bool {
	topics, err := eventTopics(r)
	if err != nil {
		return true // the handler answers 400
	}
	for topic := range topics {
		switch topic {
		case events.TopicAll, events.TopicNodePool:
		case events.TopicNode:
			if !a.AllowNodeRead() {
				return false
			}
		default:
			if !a.AllowNamespaceOperation(namespaceOf(r), acl.NamespaceCapabilityReadJob) {
				return false
			}
		}
	}
	return true
}
