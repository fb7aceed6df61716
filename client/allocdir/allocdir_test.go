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

func TestResolve(t *testing.T) {
	a := New(t.TempDir(), "a1")
	if err := a.Build(); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(a.SharedDir(), "link")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, rel, want string
		err             error
	}{
		{"root", "/", a.Dir, nil},
		{"relative", "alloc/logs", a.LogDir(), nil},
		{"dotdot is clamped", "../../etc", filepath.Join(a.Dir, "etc"), nil},
		{"symlink out", "alloc/link", "", ErrEscapes},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Resolve(tc.rel)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q, %v", tc.rel, got, err, tc.want, tc.err)
			}
		})
	}
}
