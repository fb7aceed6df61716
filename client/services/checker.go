package services

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Checker runs an allocation's checks at their intervals and keeps their
// latest results.
type Checker struct {
	logger  *slog.Logger
	hooks   CheckerHooks
	mu      sync.Mutex
	loops   map[string]*checkLoop
	results api.AllocCheckStatuses
}

type checkLoop struct {
	check  Check
	cancel context.CancelFunc
	done   chan struct{}
}

// CheckerHooks connect a checker to its allocation; each may be nil.
type CheckerHooks struct {
	// OnChange is called (without the checker's lock) after a check's
	// status changes.
	OnChange func()
	// Exec runs script checks inside their task.
	Exec ExecFunc
	// Restart restarts a task whose check failed RestartLimit times in a
	// row (check_restart).
	Restart func(task, reason string)
}

// NewChecker returns a checker with no checks.
func NewChecker(logger *slog.Logger, hooks CheckerHooks) *Checker {
	return &Checker{logger: logger, hooks: hooks, loops: map[string]*checkLoop{}, results: api.AllocCheckStatuses{}}
}

// Passing keeps the registrations whose checks all passed on their latest
// run; a check not run yet does not pass.
func (c *Checker) Passing(regs []*api.ServiceRegistration, checks []Check) []*api.ServiceRegistration {
	c.mu.Lock()
	defer c.mu.Unlock()
	failing := map[string]bool{}
	for _, ch := range checks {
		if c.results[ch.Status.ID].Status != CheckSuccess {
			failing[ch.Registration] = true
		}
	}
	var out []*api.ServiceRegistration
	for _, r := range regs {
		if !failing[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// SetChecks runs exactly checks: new ones start, removed ones stop and
// lose their results, changed ones restart.
func (c *Checker) SetChecks(checks []Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	want := map[string]Check{}
	for _, ch := range checks {
		want[ch.Status.ID] = ch
	}
	for id, loop := range c.loops {
		if ch, ok := want[id]; !ok || !sameCheck(loop.check, ch) {
			loop.cancel()
			delete(c.loops, id)
			delete(c.results, id)
		}
	}
	for id, ch := range want {
		if _, ok := c.loops[id]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		loop := &checkLoop{check: ch, cancel: cancel, done: make(chan struct{})}
		c.loops[id] = loop
		c.results[id] = ch.Status
		go c.run(ctx, loop)
	}
}

func sameCheck(a, b Check) bool {
	return a.Type == b.Type && a.Address == b.Address && a.Port == b.Port && a.Path == b.Path &&
		a.Method == b.Method && a.Interval == b.Interval && a.Timeout == b.Timeout &&
		a.Command == b.Command && fmt.Sprint(a.Args) == fmt.Sprint(b.Args) && a.GRPCService == b.GRPCService
}

func (c *Checker) run(ctx context.Context, loop *checkLoop) {
	defer close(loop.done)
	t := time.NewTimer(0)
	defer t.Stop()
	started, failures := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res := loop.check.probe(ctx, c.hooks.Exec)
		c.mu.Lock()
		if ctx.Err() != nil {
			// Removed meanwhile: its result must not come back.
			c.mu.Unlock()
			return
		}
		changed := c.results[res.ID].Status != res.Status
		if changed {
			c.logger.Info("service check status changed", "service", res.Service, "check", res.Check, "status", res.Status)
		}
		c.results[res.ID] = res
		c.mu.Unlock()
		if changed && c.hooks.OnChange != nil {
			c.hooks.OnChange()
		}
		if failures = failures + 1; res.Status == CheckSuccess {
			failures = 0
		}
		if lim := loop.check.RestartLimit; lim > 0 && failures >= lim && time.Since(started) >= loop.check.RestartGrace && c.hooks.Restart != nil {
			c.hooks.Restart(loop.check.ExecTask, fmt.Sprintf("healthcheck: check %q unhealthy", res.Check))
			started, failures = time.Now(), 0
		}
		t.Reset(loop.check.Interval)
	}
}

// Statuses returns the latest result of every check, by check ID.
func (c *Checker) Statuses() api.AllocCheckStatuses {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(api.AllocCheckStatuses, len(c.results))
	for id, r := range c.results {
		out[id] = r
	}
	return out
}

// Close stops every check and waits for them.
func (c *Checker) Close() {
	c.mu.Lock()
	loops := c.loops
	c.loops = map[string]*checkLoop{}
	c.mu.Unlock()
	for _, loop := range loops {
		loop.cancel()
		<-loop.done
	}
}
