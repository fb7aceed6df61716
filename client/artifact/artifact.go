// Package artifact fetches a task's `artifact` blocks into its task
// directory before the task starts: http(s) and local sources, optional
// checksum verification, and archives unpacked into the destination. It
// never writes outside the task directory.
package artifact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Modes of an artifact, as the job's `mode` spells them.
const (
	ModeAny  = "any"
	ModeFile = "file"
	ModeDir  = "dir"
)

// DefaultDestination is where an artifact lands when it names none.
const DefaultDestination = "local/"

// ErrEscapes is returned for a destination or archive entry that would
// leave the task directory.
var ErrEscapes = errors.New("path escapes the task directory")

// Request is one artifact, already interpolated.
type Request struct {
	// Source is an http(s) URL, a file:// URL or a local path.
	Source string
	// Options are the `options` block: checksum, archive; other keys are
	// added to an http source's query string.
	Options map[string]string
	// Headers are sent with an http request.
	Headers map[string]string
	// Mode is any (default), file or dir.
	Mode string
	// Destination is relative to the task directory; empty means "local/".
	Destination string
	// Insecure skips TLS verification for https sources.
	Insecure bool
}

// Fetcher downloads artifacts.
type Fetcher struct {
	// Client is used for http(s) sources; nil uses a default client.
	Client *http.Client
}

// Fetch downloads r into taskDir, verifying and unpacking it as its
// options and mode say.
func (f *Fetcher) Fetch(ctx context.Context, taskDir string, r Request) error {
	if err := f.fetch(ctx, taskDir, r); err != nil {
		return fmt.Errorf("artifact %q: %w", r.Source, err)
	}
	return nil
}

func (f *Fetcher) fetch(ctx context.Context, taskDir string, r Request) error {
	opts, err := parseOptions(r.Options)
	if err != nil {
		return err
	}
	mode := r.Mode
	if mode == "" {
		mode = ModeAny
	}
	if mode != ModeAny && mode != ModeFile && mode != ModeDir {
		return fmt.Errorf("mode %q is not one of any, file, dir", mode)
	}
	dest := r.Destination
	if dest == "" {
		dest = DefaultDestination
	}
	dst, err := within(taskDir, dest)
	if err != nil {
		return fmt.Errorf("destination %q: %w", dest, err)
	}
	src, err := f.open(ctx, taskDir, r, opts)
	if err != nil {
		return err
	}
	defer src.cleanup()
	if !src.isDir {
		if err := opts.checksum.verify(src.path); err != nil {
			return err
		}
	}
	return place(src, dst, mode, taskDir)
}

// place puts a fetched source at dst according to mode.
func place(src *fetched, dst, mode, root string) error {
	if src.isDir {
		if mode == ModeFile {
			return fmt.Errorf("source is a directory; mode %q needs a file", mode)
		}
		return copyDir(src.path, dst, root)
	}
	format := src.archive
	if mode == ModeFile {
		format = ""
	}
	if format != "" {
		return unpack(format, src.path, dst, root)
	}
	switch mode {
	case ModeDir:
		return fmt.Errorf("source is not an archive; mode %q needs an archive or a directory", mode)
	case ModeAny:
		dst = filepath.Join(dst, src.name)
	}
	return copyFile(src.path, dst, src.perm, root)
}

// within resolves rel inside root, refusing paths (or symlinks already on
// disk) that lead out of it.
func within(root, rel string) (string, error) {
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: absolute path", ErrEscapes)
	}
	p := filepath.Join(root, rel)
	if !inside(root, p) {
		return "", ErrEscapes
	}
	if err := checkResolved(root, p); err != nil {
		return "", err
	}
	return p, nil
}

// inside reports whether p is root or below it (lexically).
func inside(root, p string) bool {
	root, p = filepath.Clean(root), filepath.Clean(p)
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// checkResolved resolves the longest existing prefix of p through symlinks
// and checks it is still inside root.
func checkResolved(root, p string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", root, err)
	}
	existing := p
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return nil
		}
		existing = parent
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", existing, err)
	}
	if !inside(realRoot, real) {
		return ErrEscapes
	}
	return nil
}

// baseName is the file name of a source URL's or path's last element.
func baseName(p string) string {
	name := path.Base(filepath.ToSlash(p))
	if name == "." || name == "/" || name == "" {
		return "artifact"
	}
	return name
}
