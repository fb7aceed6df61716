// Package logstream lets the agent's log be followed live, as
// /v1/agent/monitor serves it: a slog.Handler that passes records on to
// the agent's own handler and copies them, at each follower's level and
// in Nomad's line format, to the followers.
package logstream

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// bufferLines is how many lines a slow follower may fall behind before
// lines are dropped for it.
const bufferLines = 512

// Broadcaster is the shared state of a Handler and the handlers derived
// from it.
type Broadcaster struct {
	mu        sync.Mutex
	followers map[*Follower]struct{}
}

// Handler is a slog.Handler that also feeds the followers.
type Handler struct {
	next  slog.Handler
	b     *Broadcaster
	attrs []slog.Attr
	group string
}

// New wraps next.
func New(next slog.Handler) *Handler {
	return &Handler{next: next, b: &Broadcaster{followers: map[*Follower]struct{}{}}}
}

// Follower receives log lines at or above its level.
type Follower struct {
	level slog.Level
	json  bool
	lines chan []byte
	b     *Broadcaster
}

// Lines delivers the followed lines, each ending in a newline.
func (f *Follower) Lines() <-chan []byte { return f.lines }

// Stop ends the following.
func (f *Follower) Stop() {
	f.b.mu.Lock()
	delete(f.b.followers, f)
	f.b.mu.Unlock()
}

// Follow starts copying the records at or above level, as JSON objects
// when asJSON is set.
func (h *Handler) Follow(level slog.Level, asJSON bool) *Follower {
	f := &Follower{level: level, json: asJSON, lines: make(chan []byte, bufferLines), b: h.b}
	h.b.mu.Lock()
	h.b.followers[f] = struct{}{}
	h.b.mu.Unlock()
	return f
}

// ParseLevel reads a Nomad log level name ("trace" counts as debug).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "trace", "debug":
		return slog.LevelDebug, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q", s)
}

// Enabled implements slog.Handler: a record is wanted by the agent's log
// or by some follower.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	if h.next.Enabled(ctx, level) {
		return true
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	for f := range h.b.followers {
		if level >= f.level {
			return true
		}
	}
	return false
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	var text, js []byte
	for f := range h.b.followers {
		if r.Level < f.level {
			continue
		}
		var line []byte
		if f.json {
			if js == nil {
				js = h.formatJSON(r)
			}
			line = js
		} else {
			if text == nil {
				text = h.formatText(r)
			}
			line = text
		}
		select {
		case f.lines <- line:
		default: // a follower that does not keep up loses lines
		}
	}
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		a.Key = h.group + a.Key
		c.attrs = append(append([]slog.Attr{}, c.attrs...), a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	c.group = h.group + name + "."
	return &c
}

// levelName is the level as Nomad's lines print it.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// formatText renders a record as Nomad does:
// "2006-01-02T15:04:05.000Z [INFO]  message: key=value".
func (h *Handler) formatText(r slog.Record) []byte {
	var b strings.Builder
	lvl := "[" + levelName(r.Level) + "]"
	fmt.Fprintf(&b, "%s %-7s %s", r.Time.UTC().Format("2006-01-02T15:04:05.000Z"), lvl, r.Message)
	sep := ":"
	h.eachAttr(r, func(k string, v slog.Value) {
		s := v.String()
		if strings.ContainsAny(s, " \"=") {
			s = fmt.Sprintf("%q", s)
		}
		fmt.Fprintf(&b, "%s %s=%s", sep, k, s)
		sep = ""
	})
	b.WriteByte('\n')
	return []byte(b.String())
}

// formatJSON renders a record as one JSON object, as Nomad's log_json.
func (h *Handler) formatJSON(r slog.Record) []byte {
	m := map[string]any{"@timestamp": r.Time.UTC().Format(time.RFC3339Nano), "@level": strings.ToLower(levelName(r.Level)), "@message": r.Message}
	h.eachAttr(r, func(k string, v slog.Value) { m[k] = v.Resolve().Any() })
	out, err := json.Marshal(m)
	if err != nil {
		out = []byte(fmt.Sprintf(`{"@message": %q}`, r.Message))
	}
	return append(out, '\n')
}

func (h *Handler) eachAttr(r slog.Record, fn func(string, slog.Value)) {
	for _, a := range h.attrs {
		fn(a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fn(h.group+a.Key, a.Value)
		return true
	})
}
