// Package template renders a task's `template` blocks, following Nomad's
// template documentation: a Go text/template with consul-template's
// common helper functions, rendered from inline data or a source file into
// a destination inside the allocation directory. Templates marked
// `env = true` are also parsed as KEY=VALUE lines for the task environment.
//
// Only the task environment (`env`) and static helpers are available;
// Nomad service and variable lookups are not supported, and templates are
// rendered once per task start rather than watched for changes.
package template

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/hashicorp/nomad/api"
)

// DefaultPerms is the destination file mode when a template sets none.
const DefaultPerms = "0644"

// Renderer renders the templates of one task.
type Renderer struct {
	// Env is the task's environment, visible through the `env` function.
	Env map[string]string
	// TaskDir is the task's directory: relative source and destination
	// paths are resolved against it.
	TaskDir string
	// AllocDir is the allocation directory: no source or destination may
	// lie outside it.
	AllocDir string
}

// Result is one rendered template.
type Result struct {
	// Dest is the absolute path the template was written to.
	Dest string
	// Content is the rendered text.
	Content []byte
	// Env holds the parsed variables of an `env = true` template.
	Env map[string]string
}

// Write renders t and writes it to its destination with its permissions.
func (r *Renderer) Write(t *api.Template) (*Result, error) {
	res, err := r.Render(t)
	if err != nil {
		return nil, err
	}
	perms, err := parsePerms(t.Perms)
	if err != nil {
		return nil, err
	}
	if err := r.checkLinks(res.Dest, "destination"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(res.Dest), 0o755); err != nil {
		return nil, fmt.Errorf("create template destination directory: %w", err)
	}
	if err := os.WriteFile(res.Dest, res.Content, perms); err != nil {
		return nil, fmt.Errorf("write template %q: %w", res.Dest, err)
	}
	if err := os.Chmod(res.Dest, perms); err != nil {
		return nil, fmt.Errorf("set template permissions: %w", err)
	}
	return res, nil
}

// Render renders t without writing it.
func (r *Renderer) Render(t *api.Template) (*Result, error) {
	if t == nil {
		return nil, fmt.Errorf("template is nil")
	}
	dest, err := r.resolve(deref(t.DestPath), "destination")
	if err != nil {
		return nil, err
	}
	text, err := r.source(t)
	if err != nil {
		return nil, err
	}
	out, err := r.execute(t, text)
	if err != nil {
		return nil, err
	}
	res := &Result{Dest: dest, Content: out}
	if t.Envvars != nil && *t.Envvars {
		if res.Env, err = ParseEnv(out); err != nil {
			return nil, fmt.Errorf("template %q: %w", deref(t.DestPath), err)
		}
	}
	return res, nil
}

// source returns the template's text: its inline data, or else the
// contents of its source file.
func (r *Renderer) source(t *api.Template) (string, error) {
	if data := deref(t.EmbeddedTmpl); data != "" {
		return data, nil
	}
	src := deref(t.SourcePath)
	if src == "" {
		return "", fmt.Errorf("template %q has neither data nor source", deref(t.DestPath))
	}
	path, err := r.resolve(src, "source")
	if err != nil {
		return "", err
	}
	if err := r.checkLinks(path, "source"); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read template source: %w", err)
	}
	return string(b), nil
}

// execute parses and runs text with the template's delimiters and
// missing-key behaviour.
func (r *Renderer) execute(t *api.Template, text string) ([]byte, error) {
	missing := "missingkey=zero"
	if t.ErrMissingKey != nil && *t.ErrMissingKey {
		missing = "missingkey=error"
	}
	tmpl, err := template.New(deref(t.DestPath)).
		Delims(deref(t.LeftDelim), deref(t.RightDelim)).
		Funcs(funcs(r.Env)).
		Option(missing).
		Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nil); err != nil {
		return nil, fmt.Errorf("execute template: %w", err)
	}
	return buf.Bytes(), nil
}

// resolve turns a source or destination path into an absolute path inside
// the allocation directory: relative paths are taken from the task
// directory, and paths that leave the allocation directory are refused.
func (r *Renderer) resolve(p, what string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("template %s is empty", what)
	}
	abs := p
	if !filepath.IsAbs(p) {
		abs = filepath.Join(r.TaskDir, p)
	}
	abs = filepath.Clean(abs)
	if !within(r.AllocDir, abs) {
		return "", fmt.Errorf("template %s %q escapes the allocation directory", what, p)
	}
	return abs, nil
}

// checkLinks refuses a path whose nearest existing ancestor (or itself)
// resolves, through symbolic links, outside the allocation directory.
func (r *Renderer) checkLinks(path, what string) error {
	root, err := filepath.EvalSymlinks(r.AllocDir)
	if err != nil {
		return fmt.Errorf("resolve allocation directory: %w", err)
	}
	for p := path; ; p = filepath.Dir(p) {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			if !within(root, real) {
				return fmt.Errorf("template %s %q escapes the allocation directory through a link", what, path)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) || p == filepath.Dir(p) {
			return fmt.Errorf("resolve template %s: %w", what, err)
		}
	}
}

// within reports whether path lies inside root, lexically.
func within(root, path string) bool {
	rel, err := filepath.Rel(filepath.Clean(root), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// parsePerms parses an octal file mode such as "0644".
func parsePerms(p *string) (fs.FileMode, error) {
	s := deref(p)
	if s == "" {
		s = DefaultPerms
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("invalid template perms %q: want an octal mode such as 0644", s)
	}
	return fs.FileMode(m), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
