// Package logging writes a task's output into size-bounded, numbered files
// (<base>.0, <base>.1, ...) as Nomad does, keeping at most a fixed number.
package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Defaults of a task's `logs` block.
const (
	DefaultMaxFiles      = 10
	DefaultMaxFileSizeMB = 10
)

// Rotator is an io.WriteCloser that appends to <base>.N and moves to
// <base>.N+1 when the current file reaches MaxFileSize, deleting the oldest
// files beyond MaxFiles. It resumes at the highest existing index.
type Rotator struct {
	base        string
	maxFiles    int
	maxFileSize int64

	mu    sync.Mutex
	file  *os.File
	index int
	size  int64
}

// NewRotator opens (or resumes) the rotated files for base. Non-positive
// limits take Nomad's defaults.
func NewRotator(base string, maxFiles int, maxFileSizeMB int) (*Rotator, error) {
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}
	if maxFileSizeMB <= 0 {
		maxFileSizeMB = DefaultMaxFileSizeMB
	}
	return newRotator(base, maxFiles, int64(maxFileSizeMB)*1024*1024)
}

func newRotator(base string, maxFiles int, maxFileSize int64) (*Rotator, error) {
	r := &Rotator{base: base, maxFiles: maxFiles, maxFileSize: maxFileSize}
	indexes, err := Indexes(base)
	if err != nil {
		return nil, err
	}
	if len(indexes) > 0 {
		r.index = indexes[len(indexes)-1]
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// Indexes returns the rotation indexes that exist for base, ascending.
func Indexes(base string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Dir(base))
	if err != nil {
		return nil, fmt.Errorf("list log dir: %w", err)
	}
	prefix := filepath.Base(base) + "."
	var out []int
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

// FileName is the path of rotation index n of base.
func FileName(base string, n int) string {
	return base + "." + strconv.Itoa(n)
}

func (r *Rotator) open() error {
	f, err := os.OpenFile(FileName(r.base, r.index), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log file: %w", err)
	}
	r.file, r.size = f, info.Size()
	return nil
}

// Write appends p, rotating as often as needed so no file exceeds the limit.
func (r *Rotator) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	written := 0
	for len(p) > 0 {
		if r.size >= r.maxFileSize {
			if err := r.rotate(); err != nil {
				return written, err
			}
		}
		chunk := p
		if room := r.maxFileSize - r.size; int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		n, err := r.file.Write(chunk)
		written += n
		r.size += int64(n)
		if err != nil {
			return written, fmt.Errorf("write log file: %w", err)
		}
		p = p[n:]
	}
	return written, nil
}

func (r *Rotator) rotate() error {
	if err := r.file.Close(); err != nil {
		return fmt.Errorf("close log file: %w", err)
	}
	r.index++
	if err := r.open(); err != nil {
		return err
	}
	return r.purge()
}

// purge removes the oldest files so that at most maxFiles remain.
func (r *Rotator) purge() error {
	indexes, err := Indexes(r.base)
	if err != nil {
		return err
	}
	for len(indexes) > r.maxFiles {
		if err := os.Remove(FileName(r.base, indexes[0])); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove old log file: %w", err)
		}
		indexes = indexes[1:]
	}
	return nil
}

// Close closes the current file.
func (r *Rotator) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.file.Close()
}
