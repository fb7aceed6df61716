package allocdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestBuildLayout(t *testing.T) {
	a := New(t.TempDir(), "a1")
	if err := a.Build(); err != nil {
		t.Fatal(err)
	}
	if err := a.TaskDir("web").Build(); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"alloc", "alloc/data", "alloc/tmp", "alloc/logs", "web/local", "web/secrets", "web/tmp"} {
		t.Run(rel, func(t *testing.T) {
			info, err := os.Stat(filepath.Join(a.Dir, rel))
			if err != nil || !info.IsDir() {
				t.Fatalf("%s: %v", rel, err)
			}
		})
	}
}

func TestRoot(t *testing.T) {
	a := New(t.TempDir(), "a1")
	if err := a.Build(); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"abs": "/etc", "up": "../../../../../../etc", "in": "logs"} {
		if err := os.Symlink(target, filepath.Join(a.SharedDir(), link)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := a.OpenRoot()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cases := []struct {
		name, rel, want string
		err             error
	}{
		{"the directory", "/", ".", nil},
		{"relative", "alloc/logs", "alloc/logs", nil},
		{"dotdot is clamped", "../../alloc", "alloc", nil},
		{"symlink inside", "alloc/in", "alloc/in", nil},
		{"absolute symlink out", "alloc/abs", "alloc/abs", ErrEscapes},
		{"relative symlink out", "/alloc/up/passwd", "alloc/up/passwd", ErrEscapes},
		{"NUL byte", "alloc/\x00x", "", ErrInvalidPath},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, err := RootName(tc.rel)
			if err == nil {
				_, err = root.Stat(name)
				err = Escapes(err)
			}
			if !errors.Is(err, tc.err) || name != tc.want {
				t.Fatalf("RootName(%q) = %q, then %v; want %q, %v", tc.rel, name, err, tc.want, tc.err)
			}
		})
	}
}
