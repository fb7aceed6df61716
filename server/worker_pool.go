package server

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-uuid"
)

// coreScheduler is the name Nomad gives its garbage-collection scheduler.
// Roam collects garbage in a leader loop, not in the workers, but the name
// is accepted (and required) in a worker configuration, as in Nomad.
const coreScheduler = "_core"

// allSchedulers is the default enabled_schedulers: every job type and
// _core.
var allSchedulers = append(slices.Clone(schedulerTypes), coreScheduler)

// WorkerConfig is the configuration of a server's scheduler workers
// (`server { num_schedulers, enabled_schedulers }`, and
// /v1/agent/schedulers/config at run time).
type WorkerConfig struct {
	NumSchedulers     int
	EnabledSchedulers []string
}

// WorkerInfo describes one running scheduler worker.
type WorkerInfo struct {
	ID                string
	EnabledSchedulers []string
	Started           time.Time
	// Busy is true while the worker runs the scheduler on an evaluation.
	Busy bool
}

// workerPool runs the server's scheduler workers, and replaces them when
// their configuration changes.
type workerPool struct {
	srv     *Server
	mu      sync.Mutex
	config  WorkerConfig
	workers []*worker
}

// validate checks a worker configuration as Nomad does: a count between 0
// and twice the cores, known schedulers only, _core among them.
func (c WorkerConfig) validate() error {
	if c.NumSchedulers < 0 || c.NumSchedulers > 2*runtime.NumCPU() {
		return fmt.Errorf("%w: num_schedulers must be between 0 and %d", ErrInvalid, 2*runtime.NumCPU())
	}
	for _, s := range c.EnabledSchedulers {
		if !slices.Contains(allSchedulers, s) {
			return fmt.Errorf("%w: unknown scheduler %q", ErrInvalid, s)
		}
	}
	if !slices.Contains(c.EnabledSchedulers, coreScheduler) {
		return fmt.Errorf("%w: enabled_schedulers must include %q", ErrInvalid, coreScheduler)
	}
	return nil
}

// set stops the running workers and starts those of c.
func (p *workerPool) set(c WorkerConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.workers {
		w.cancel()
	}
	p.workers = nil
	p.config = WorkerConfig{NumSchedulers: c.NumSchedulers, EnabledSchedulers: slices.Clone(c.EnabledSchedulers)}
	var types []string
	for _, t := range schedulerTypes {
		if slices.Contains(c.EnabledSchedulers, t) {
			types = append(types, t)
		}
	}
	for i := 0; i < c.NumSchedulers; i++ {
		ctx, cancel := context.WithCancel(p.srv.shutdownCtx)
		id, _ := uuid.GenerateUUID()
		w := &worker{srv: p.srv, logger: p.srv.logger.With("worker", id), id: id, types: types,
			started: time.Now(), cancel: cancel}
		p.workers = append(p.workers, w)
		if len(types) > 0 {
			p.srv.goRun(func() { w.run(ctx) })
		}
	}
}

// SchedulerWorkers is the workers' configuration.
func (s *Server) SchedulerWorkers() WorkerConfig {
	s.workers.mu.Lock()
	defer s.workers.mu.Unlock()
	c := s.workers.config
	c.EnabledSchedulers = slices.Clone(c.EnabledSchedulers)
	return c
}

// SetSchedulerWorkers replaces the running workers with those of c. An
// evaluation a stopped worker held goes back to the broker when its
// delivery times out.
func (s *Server) SetSchedulerWorkers(c WorkerConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	s.workers.set(c)
	return nil
}

// SchedulerWorkersInfo describes the running workers.
func (s *Server) SchedulerWorkersInfo() []WorkerInfo {
	s.workers.mu.Lock()
	defer s.workers.mu.Unlock()
	out := make([]WorkerInfo, len(s.workers.workers))
	for i, w := range s.workers.workers {
		out[i] = WorkerInfo{ID: w.id, EnabledSchedulers: slices.Clone(s.workers.config.EnabledSchedulers),
			Started: w.started, Busy: w.busy.Load()}
	}
	return out
}

// defaultWorkerConfig is the configured worker set: all schedulers when
// none are named, and _core always.
func defaultWorkerConfig(num int, enabled []string) WorkerConfig {
	if len(enabled) == 0 {
		enabled = allSchedulers
	} else if !slices.Contains(enabled, coreScheduler) {
		enabled = append(slices.Clone(enabled), coreScheduler)
	}
	return WorkerConfig{NumSchedulers: num, EnabledSchedulers: enabled}
}
