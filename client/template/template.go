// Package template renders a task's `template` blocks, following Nomad's
// template documentation: a Go text/template with consul-template's
// functions, rendered from inline data or a source file into a destination
// inside the allocation directory. Templates look up Nomad variables and
// services through the servers (nomadVar, nomadVarList, nomadService, ...)
// and stay live: a Manager watches what they looked up with blocking
// queries and re-renders them when it changes. Templates marked
// `env = true` are also parsed as KEY=VALUE lines for the task environment.
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
	// Denylist names the functions templates may not call; nil is
	// DefaultFunctionDenylist.
	Denylist []string
	// DisableFileSandbox lets the `file` function read outside the
	// allocation directory.
	DisableFileSandbox bool
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

// prepared is a template parsed and placed, ready to execute again and
// again with fresh lookup functions.
type prepared struct {
	src   *api.Template
	dest  string
	perms fs.FileMode
	tmpl  *template.Template
}

// Render renders t once, without lookups (a lookup function fails), and
// without writing it.
func (r *Renderer) Render(t *api.Template) (*Result, error) {
	p, err := r.prepare(t)
	if err != nil {
		return nil, err
	}
	return p.execute(template.FuncMap{})
}

// prepare resolves t's destination and permissions and parses its text.
func (r *Renderer) prepare(t *api.Template) (*prepared, error) {
	if t == nil {
		return nil, fmt.Errorf("template is nil")
	}
	dest, err := r.resolve(deref(t.DestPath), "destination")
	if err != nil {
		return nil, err
	}
	perms, err := parsePerms(t.Perms)
	if err != nil {
		return nil, err
	}
	text, err := r.source(t)
	if err != nil {
		return nil, err
	}
	missing := "missingkey=zero"
	if t.ErrMissingKey != nil && *t.ErrMissingKey {
		missing = "missingkey=error"
	}
	fm := r.funcs()
	for name := range (&view{}).funcs() {
		if _, denied := fm[name]; !denied {
			fm[name] = noLookups(name)
		}
	}
	tmpl, err := template.New(deref(t.DestPath)).
		Delims(deref(t.LeftDelim), deref(t.RightDelim)).
		Funcs(fm).
		Option(missing).
		Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return &prepared{src: t, dest: dest, perms: perms, tmpl: tmpl}, nil
}

// noLookups stands in for a lookup function where no servers are at hand.
func noLookups(name string) func(...any) (string, error) {
	return func(...any) (string, error) {
		return "", fmt.Errorf("%s: no servers to look up from", name)
	}
}

// execute runs the template with the lookup functions lookups (which
// replace those of the same name) and parses an env template's output.
func (p *prepared) execute(lookups template.FuncMap) (*Result, error) {
	var buf bytes.Buffer
	if err := p.tmpl.Funcs(lookups).Execute(&buf, nil); err != nil {
		return nil, fmt.Errorf("execute template: %w", err)
	}
	res := &Result{Dest: p.dest, Content: buf.Bytes()}
	if p.src.Envvars != nil && *p.src.Envvars {
		var err error
		if res.Env, err = ParseEnv(res.Content); err != nil {
			return nil, fmt.Errorf("template %q: %w", deref(p.src.DestPath), err)
		}
	}
	return res, nil
}

// write puts res at its destination with the template's permissions, by
// renaming a complete file into place, so that a reader never sees half
// of it.
func (r *Renderer) write(p *prepared, res *Result) error {
	if err := r.checkLinks(res.Dest, "destination"); err != nil {
		return err
	}
	dir := filepath.Dir(res.Dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create template destination directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(res.Dest)+".tmp*")
	if err != nil {
		return fmt.Errorf("write template %q: %w", res.Dest, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(res.Content)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), p.perms)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), res.Dest)
	}
	if err != nil {
		return fmt.Errorf("write template %q: %w", res.Dest, err)
	}
	return nil
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
