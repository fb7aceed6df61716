package template

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Settings are the client's `template` block settings that shape
// lookups and re-rendering.
type Settings struct {
	// FunctionDenylist names functions templates may not call; nil is
	// DefaultFunctionDenylist.
	FunctionDenylist []string
	// DisableFileSandbox lets `file` read outside the allocation directory.
	DisableFileSandbox bool
	// BlockQueryWait bounds one blocking read (DefaultBlockQueryWait).
	BlockQueryWait time.Duration
	// WaitBounds, when set, clamps every template's wait { min max }.
	WaitMin, WaitMax *time.Duration
}

// Config is what a Manager needs.
type Config struct {
	// Templates are the task's templates, their paths interpolated.
	Templates []*api.Template
	// Renderer places and renders them.
	Renderer *Renderer
	Source   Source
	// Token returns the ACL token lookups act with (the task's workload
	// identity, which is renewed); nil sends none.
	Token func() string
	// Namespace is the job's: lookups default to it.
	Namespace string
	// Region is the client's; a service query naming another is refused.
	Region   string
	Settings Settings
	Logger   *slog.Logger
	// Running says the task already runs (a restarted client re-attached
	// to it): a first render that changes the file it left is a change.
	Running bool
}

// Change is a template whose content changed on a re-render.
type Change struct {
	Template *api.Template
	Result   *Result
}

// Manager renders a task's templates, waits until each has rendered once,
// and then re-renders them whenever what they looked up changes.
type Manager struct {
	cfg     Config
	watcher *watcher
	ctx     context.Context
	cancel  context.CancelFunc
	runners []*runner
	changes chan Change
	errs    chan error
	// pending holds the changes not yet delivered, one per template, so
	// that a runner never waits on a slow consumer; wake signals them.
	pendingMu sync.Mutex
	pending   []Change
	wake      chan struct{}

	mu       sync.Mutex
	waiting  int
	firstErr error
	missing  map[*runner][]lookup
	progress chan struct{}
}

// NewManager parses the templates and starts rendering them; it fails at
// once on a template that cannot be parsed or placed.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Renderer.Denylist = cfg.Settings.FunctionDenylist
	cfg.Renderer.DisableFileSandbox = cfg.Settings.DisableFileSandbox
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, ctx: ctx, cancel: cancel, changes: make(chan Change), wake: make(chan struct{}, 1),
		errs: make(chan error, 1), missing: map[*runner][]lookup{}, progress: make(chan struct{}, 1)}
	m.watcher = newWatcher(ctx, cfg.Source, cfg.Token, cfg.Settings.BlockQueryWait, cfg.Logger)
	for _, t := range cfg.Templates {
		if t == nil {
			continue
		}
		p, err := cfg.Renderer.prepare(t)
		if err != nil {
			cancel()
			return nil, err
		}
		m.runners = append(m.runners, &runner{m: m, p: p, sub: make(chan struct{}, 1)})
	}
	m.waiting = len(m.runners)
	for _, r := range m.runners {
		go r.run(ctx)
	}
	go m.forward(ctx)
	return m, nil
}

// deliver queues a change for Changes, replacing an undelivered one of the
// same template.
func (m *Manager) deliver(c Change) {
	m.pendingMu.Lock()
	m.pending = slices.DeleteFunc(m.pending, func(p Change) bool { return p.Template == c.Template })
	m.pending = append(m.pending, c)
	m.pendingMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// forward hands queued changes to Changes' reader.
func (m *Manager) forward(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		}
		m.pendingMu.Lock()
		batch := m.pending
		m.pending = nil
		m.pendingMu.Unlock()
		for _, c := range batch {
			select {
			case m.changes <- c:
			case <-ctx.Done():
				return
			}
		}
	}
}

// Stop ends every watch and render.
func (m *Manager) Stop() { m.cancel() }

// Done is closed once the manager is stopped.
func (m *Manager) Done() <-chan struct{} { return m.ctx.Done() }

// Changes delivers the templates whose content changed after their first
// render; the file is already written.
func (m *Manager) Changes() <-chan Change { return m.changes }

// Errors delivers failures of re-renders: the previous file is kept.
func (m *Manager) Errors() <-chan error { return m.errs }

// WaitFirst blocks until every template has rendered once and returns the
// variables of the env templates. Meanwhile waiting is called with the
// lookups that have no data yet each time that set changes. It fails when
// a first render fails, or ctx ends.
func (m *Manager) WaitFirst(ctx context.Context, waiting func(missing []string)) (map[string]string, error) {
	var reported string
	for {
		m.mu.Lock()
		pending, err := m.waiting, m.firstErr
		var missing []string
		for _, ls := range m.missing {
			for _, l := range ls {
				if s := l.String(); !slices.Contains(missing, s) {
					missing = append(missing, s)
				}
			}
		}
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if pending == 0 {
			return m.Env(), nil
		}
		slices.Sort(missing)
		if key := strings.Join(missing, ", "); key != reported && len(missing) > 0 && waiting != nil {
			reported = key
			waiting(missing)
		}
		select {
		case <-m.progress:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Env returns the variables of the env templates as last rendered.
func (m *Manager) Env() map[string]string {
	out := map[string]string{}
	for _, r := range m.runners {
		r.mu.Lock()
		if r.last != nil {
			for k, v := range r.last.Env {
				out[k] = v
			}
		}
		r.mu.Unlock()
	}
	return out
}

// report records a runner's first-render progress and wakes WaitFirst.
func (m *Manager) report(r *runner, missing []lookup, rendered bool, err error) {
	m.mu.Lock()
	switch {
	case err != nil && m.firstErr == nil:
		m.firstErr = err
	case rendered:
		m.waiting--
		delete(m.missing, r)
	default:
		m.missing[r] = missing
	}
	m.mu.Unlock()
	select {
	case m.progress <- struct{}{}:
	default:
	}
}

// runner renders one template whenever what it looked up changes.
type runner struct {
	m   *Manager
	p   *prepared
	sub chan struct{}

	mu   sync.Mutex
	last *Result
}

func (r *runner) run(ctx context.Context) {
	rendered := false
	for {
		res, missing, err := r.render(rendered)
		switch {
		case err != nil && !rendered:
			r.m.report(r, nil, false, fmt.Errorf("template %q: %w", deref(r.p.src.DestPath), err))
			return
		case err != nil:
			r.m.cfg.Logger.Warn("template re-render failed; previous file kept", "destination", r.p.dest, "error", err)
			select {
			case r.m.errs <- fmt.Errorf("template %q: %w", deref(r.p.src.DestPath), err):
			default:
			}
		case len(missing) > 0:
			if !rendered {
				r.m.report(r, missing, false, nil)
			}
		default:
			var before []byte
			if !rendered && r.m.cfg.Running {
				before, _ = os.ReadFile(r.p.dest)
			}
			changed, err := r.apply(res, rendered)
			if err != nil && !rendered {
				r.m.report(r, nil, false, err)
				return
			}
			if err != nil {
				r.m.cfg.Logger.Warn("template write failed", "destination", r.p.dest, "error", err)
			} else if !rendered {
				rendered = true
				r.m.report(r, nil, true, nil)
				changed = r.m.cfg.Running && !bytes.Equal(before, res.Content)
			}
			if err == nil && changed && rendered {
				r.m.deliver(Change{Template: r.p.src, Result: res})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.sub:
		}
		if !r.settle(ctx) {
			return
		}
	}
}

// render executes the template over the watcher's current data.
func (r *runner) render(rendered bool) (*Result, []lookup, error) {
	v := &view{w: r.m.watcher, sub: r.sub, namespace: r.m.cfg.Namespace, region: r.m.cfg.Region, rendered: rendered}
	fm := v.funcs()
	deny := r.m.cfg.Renderer.Denylist
	if deny == nil {
		deny = DefaultFunctionDenylist
	}
	for _, name := range deny {
		delete(fm, name)
	}
	res, err := r.p.execute(template.FuncMap(fm))
	if v.err != nil {
		return nil, nil, v.err
	}
	if len(v.missing) > 0 {
		return nil, v.missing, nil
	}
	return res, nil, err
}

// apply writes res when it differs from what was written last (always the
// first time) and reports whether it did.
func (r *runner) apply(res *Result, rendered bool) (bool, error) {
	r.mu.Lock()
	same := r.last != nil && bytes.Equal(r.last.Content, res.Content)
	r.mu.Unlock()
	if same && rendered {
		return false, nil
	}
	if err := r.m.cfg.Renderer.write(r.p, res); err != nil {
		return false, err
	}
	r.mu.Lock()
	r.last = res
	r.mu.Unlock()
	return !same, nil
}

// settle applies the template's wait { min max }: after a change it waits
// until nothing has changed for min, but no longer than max in all. It
// reports false when ctx ended.
func (r *runner) settle(ctx context.Context) bool {
	lo, hi := r.waits()
	if lo <= 0 {
		return true
	}
	var deadline <-chan time.Time
	if hi > 0 {
		t := time.NewTimer(hi)
		defer t.Stop()
		deadline = t.C
	}
	for {
		quiet := time.NewTimer(lo)
		select {
		case <-r.sub:
			quiet.Stop()
		case <-quiet.C:
			return true
		case <-deadline:
			quiet.Stop()
			return true
		case <-ctx.Done():
			quiet.Stop()
			return false
		}
	}
}

// waits is the template's wait, clamped by the client's wait_bounds.
func (r *runner) waits() (time.Duration, time.Duration) {
	var lo, hi time.Duration
	if w := r.p.src.Wait; w != nil {
		if w.Min != nil {
			lo = *w.Min
		}
		if w.Max != nil {
			hi = *w.Max
		}
	}
	s := r.m.cfg.Settings
	if s.WaitMin != nil && lo < *s.WaitMin {
		lo = *s.WaitMin
	}
	if s.WaitMax != nil && (hi == 0 || hi > *s.WaitMax) {
		hi = *s.WaitMax
	}
	if hi > 0 && lo > hi {
		lo = hi
	}
	return lo, hi
}
