package taskrunner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/template"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/identity"
)

// TaskTemplateEvent is the type of the events templates record, as Nomad's.
const TaskTemplateEvent = "Template"

// templateHook renders the task's `template` blocks and keeps them live:
// the first start waits (the task stays pending) until every template has
// rendered, and a template manager then re-renders them when the variables
// and services they look up change, applying each one's change_mode. The
// variables of `env = true` templates join the task environment at each
// start.
type templateHook struct {
	// mu guards manager: a re-attached task's templates start beside the
	// run loop.
	mu      sync.Mutex
	manager *template.Manager
	stopped bool
}

func (*templateHook) Name() string { return "template" }

func (h *templateHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	if len(tr.cfg.Task.Templates) == 0 {
		return nil
	}
	m, err := h.ensure(tr, cfg, false)
	if err != nil {
		return fmt.Errorf("Template failed: %w", err)
	}
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	for k, v := range m.Env() {
		cfg.Env[k] = v
	}
	return nil
}

// ensure returns the running manager, starting it (and waiting for the
// first render, without holding the lock) when there is none; running says
// the task already runs.
func (h *templateHook) ensure(tr *TaskRunner, cfg *drivers.TaskConfig, running bool) (*template.Manager, error) {
	h.mu.Lock()
	m := h.manager
	h.mu.Unlock()
	if m != nil {
		return m, nil
	}
	m, err := tr.startTemplates(cfg, running)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.stopped:
		m.Stop()
		return nil, fmt.Errorf("the task runner stopped")
	case h.manager != nil:
		// Started meanwhile by the other path (a restart beside a resume).
		m.Stop()
		return h.manager, nil
	}
	h.manager = m
	return m, nil
}

// resume starts the templates of a task a restarted client re-attached
// to, so that they are live again; the task keeps running meanwhile, and a
// file that changed while the client was away gets its change_mode.
func (h *templateHook) resume(tr *TaskRunner) {
	if len(tr.cfg.Task.Templates) == 0 {
		return
	}
	td := tr.cfg.AllocDir.TaskDir(tr.cfg.Task.Name)
	cfg := &drivers.TaskConfig{Env: tr.env().Map(), TaskDir: td.Dir, AllocDir: tr.cfg.AllocDir.Dir}
	if _, err := h.ensure(tr, cfg, true); err != nil {
		tr.logger.Warn("templates not resumed after re-attaching", "error", err)
	}
}

// stop ends the templates' watches.
func (h *templateHook) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.manager != nil {
		h.manager.Stop()
	}
}

// startTemplates starts the task's template manager and waits for the
// first render of every template, recording what it waits for.
func (tr *TaskRunner) startTemplates(cfg *drivers.TaskConfig, running bool) (*template.Manager, error) {
	env := tr.env()
	var resolved []*api.Template
	for _, t := range tr.cfg.Task.Templates {
		if t == nil {
			continue
		}
		c := *t
		c.SourcePath = replacePtr(env.Replace, t.SourcePath)
		c.DestPath = replacePtr(env.Replace, t.DestPath)
		resolved = append(resolved, &c)
	}
	ns := tr.cfg.Alloc.Namespace
	m, err := template.NewManager(template.Config{
		Templates: resolved,
		Renderer:  &template.Renderer{Env: cfg.Env, TaskDir: cfg.TaskDir, AllocDir: cfg.AllocDir},
		Source:    tr.cfg.Lookups, Token: tr.identityToken, Namespace: ns, Region: tr.cfg.Region,
		Settings: tr.cfg.TemplateSettings, Logger: tr.logger.With("component", "template"), Running: running,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := tr.untilKilled()
	defer cancel()
	if _, err := m.WaitFirst(ctx, func(missing []string) {
		tr.emit(newEvent(TaskTemplateEvent, "Missing: "+strings.Join(missing, ", ")), nil)
	}); err != nil {
		m.Stop()
		return nil, err
	}
	go tr.applyTemplateChanges(m)
	return m, nil
}

// identityToken is the task's default workload identity, the ACL token
// its templates' lookups act with, as Nomad's do; empty (the anonymous
// policy when ACLs are on) when the task has none.
func (tr *TaskRunner) identityToken() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.identities[identity.DefaultName]
}

// untilKilled is a context that ends when the task is killed or the
// client shuts down.
func (tr *TaskRunner) untilKilled() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(tr.shutdown)
	go func() {
		select {
		case <-tr.killCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// applyTemplateChanges applies change_mode to re-rendered templates until
// the manager stops: changes that arrive together are acted on once (one
// restart, each signal once), after a random delay up to their splay.
func (tr *TaskRunner) applyTemplateChanges(m *template.Manager) {
	for {
		var batch []template.Change
		select {
		case <-m.Done():
			return
		case err := <-m.Errors():
			tr.emit(newEvent(TaskTemplateEvent, fmt.Sprintf("Template failed to re-render, previous file kept: %v", err)), nil)
			continue
		case c := <-m.Changes():
			batch = append(batch, c)
		}
		for more := true; more; {
			select {
			case c := <-m.Changes():
				batch = append(batch, c)
			default:
				more = false
			}
		}
		if !tr.splay(m, batch) {
			return
		}
		tr.onTemplateChange(batch)
	}
}

// splay waits a random time up to the largest splay of the batch; false
// when the manager stopped meanwhile.
func (tr *TaskRunner) splay(m *template.Manager, batch []template.Change) bool {
	var most int64
	for _, c := range batch {
		if changeMode(c.Template) == "noop" {
			continue
		}
		if s := c.Template.Splay; s != nil && int64(*s) > most {
			most = int64(*s)
		}
	}
	if most <= 0 {
		return true
	}
	timer := time.NewTimer(time.Duration(rand.Int64N(most)))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-m.Done():
		return false
	}
}

// onTemplateChange applies the change modes of a batch of re-rendered
// templates: a restart covers every signal and script.
func (tr *TaskRunner) onTemplateChange(batch []template.Change) {
	var signals []string
	var scripts []*api.ChangeScript
	restart := false
	for _, c := range batch {
		switch changeMode(c.Template) {
		case "restart":
			restart = true
		case "signal":
			if s := deref(c.Template.ChangeSignal); s != "" && !slices.Contains(signals, s) {
				signals = append(signals, s)
			}
		case "script":
			if c.Template.ChangeScript != nil {
				scripts = append(scripts, c.Template.ChangeScript)
			}
		}
	}
	if !tr.isRunning() {
		return
	}
	if restart {
		if err := tr.restart(tr.shutdown, reasonTemplateRestart); err != nil {
			tr.logger.Warn("template restart", "error", err)
		}
		return
	}
	for _, s := range signals {
		tr.emit(signalingEvent(s, "Template re-rendered"), nil)
		if err := tr.cfg.Driver.SignalTask(tr.taskID, s); err != nil {
			tr.emit(newEvent(TaskTemplateEvent, fmt.Sprintf("Template failed to send signal %s: %v", s, err)), nil)
		}
	}
	for _, s := range scripts {
		tr.runChangeScript(s)
	}
}

// changeMode is a template's change_mode, "restart" when unset.
func changeMode(t *api.Template) string {
	if m := deref(t.ChangeMode); m != "" {
		return m
	}
	return "restart"
}

// replacePtr interpolates a template path, keeping nil as nil.
func replacePtr(replace func(string) string, s *string) *string {
	if s == nil {
		return nil
	}
	v := replace(*s)
	return &v
}
