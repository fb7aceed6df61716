package logging

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRotator(t *testing.T) {
	cases := []struct {
		name      string
		maxFiles  int
		maxSize   int64
		writes    []string
		wantIdx   []int
		wantFirst string // content of the lowest remaining file
		wantLast  string
	}{
		{"fits one file", 3, 10, []string{"abc", "def"}, []int{0}, "abcdef", "abcdef"},
		{"splits a write", 3, 4, []string{"abcdefghij"}, []int{0, 1, 2}, "abcd", "ij"},
		{"purges oldest", 2, 2, []string{"aabbccdd"}, []int{2, 3}, "cc", "dd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "web.stdout")
			r, err := newRotator(base, tc.maxFiles, tc.maxSize)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.writes {
				if _, err := r.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			r.Close()
			idx, err := Indexes(base)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(idx, tc.wantIdx) {
				t.Fatalf("indexes = %v, want %v", idx, tc.wantIdx)
			}
			first, _ := os.ReadFile(FileName(base, idx[0]))
			last, _ := os.ReadFile(FileName(base, idx[len(idx)-1]))
			if string(first) != tc.wantFirst || string(last) != tc.wantLast {
				t.Fatalf("first %q last %q, want %q %q", first, last, tc.wantFirst, tc.wantLast)
			}
		})
	}
}

func TestRotatorResumes(t *testing.T) {
	base := filepath.Join(t.TempDir(), "web.stderr")
	for _, part := range []string{"one ", "two"} {
		r, err := newRotator(base, 5, 100)
		if err != nil {
			t.Fatal(err)
		}
		r.Write([]byte(part))
		r.Close()
	}
	got, _ := os.ReadFile(FileName(base, 0))
	if !strings.Contains(string(got), "one two") {
		t.Fatalf("content %q, want appended", got)
	}
}
