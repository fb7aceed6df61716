package taskrunner

import (
	"fmt"

	"github.com/roam-project/roam/client/template"
	"github.com/roam-project/roam/drivers"
)

// templateHook renders the task's `template` blocks before each start and
// adds the variables of `env = true` templates to the task environment.
// Templates are rendered once per start; they are not watched, so
// change_mode, change_signal, splay and once have no effect.
type templateHook struct{}

func (templateHook) Name() string { return "template" }

func (templateHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	tmpls := tr.cfg.Task.Templates
	if len(tmpls) == 0 {
		return nil
	}
	env := tr.env()
	r := &template.Renderer{Env: cfg.Env, TaskDir: cfg.TaskDir, AllocDir: cfg.AllocDir}
	extra := make(map[string]string)
	for _, t := range tmpls {
		if t == nil {
			continue
		}
		resolved := *t
		resolved.SourcePath = replacePtr(env.Replace, t.SourcePath)
		resolved.DestPath = replacePtr(env.Replace, t.DestPath)
		res, err := r.Write(&resolved)
		if err != nil {
			return fmt.Errorf("Template failed: %w", err)
		}
		for k, v := range res.Env {
			extra[k] = v
		}
	}
	if cfg.Env == nil {
		cfg.Env = make(map[string]string, len(extra))
	}
	for k, v := range extra {
		cfg.Env[k] = v
	}
	return nil
}

// replacePtr interpolates a template path, keeping nil as nil.
func replacePtr(replace func(string) string, s *string) *string {
	if s == nil {
		return nil
	}
	v := replace(*s)
	return &v
}
