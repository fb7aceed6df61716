package artifact

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one member of a test archive; link makes it a symlink.
type entry struct{ name, body, link string }

func tarGz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.link != "" {
			h = &tar.Header{Name: e.name, Linkname: e.link, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFetch(t *testing.T) {
	plain := []byte("hello artifact\n")
	files := map[string][]byte{
		"/file.txt": plain,
		"/app.tar.gz": tarGz(t, entry{name: "app/run.sh", body: "#!/bin/sh\n"},
			entry{name: "app/cur", link: "run.sh"}),
		"/app.zip":     zipOf(t, entry{name: "bin/tool", body: "tool"}),
		"/slip.zip":    zipOf(t, entry{name: "../../evil.txt", body: "x"}),
		"/slip.tar.gz": tarGz(t, entry{name: "a/../../evil.txt", body: "x"}),
		"/abs.tar.gz":  tarGz(t, entry{name: "/evil.txt", body: "x"}),
		"/link.tar.gz": tarGz(t, entry{name: "out", link: "/etc"}),
		"/climb.tar.gz": tarGz(t, entry{name: "up", link: "../.."},
			entry{name: "up/evil.txt", body: "x"}),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/secret.txt" {
			if r.Header.Get("Authorization") != "Bearer t0k" || r.URL.Query().Get("v") != "2" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			w.Write(plain)
			return
		}
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()

	localDir := t.TempDir()
	localFile := filepath.Join(localDir, "tool.sh")
	if err := os.WriteFile(localFile, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sha := fmt.Sprintf("sha256:%x", sha256.Sum256(plain))
	md := fmt.Sprintf("md5:%x", md5.Sum(plain))

	cases := []struct {
		name    string
		req     Request
		wantErr string
		isErr   error
		want    map[string]string // path relative to the task dir -> content
	}{
		{"http file any mode", Request{Source: srv.URL + "/file.txt"}, "", nil,
			map[string]string{"local/file.txt": string(plain)}},
		{"http file mode file", Request{Source: srv.URL + "/file.txt", Mode: ModeFile, Destination: "local/renamed.txt"}, "", nil,
			map[string]string{"local/renamed.txt": string(plain)}},
		{"tar.gz unpacked", Request{Source: srv.URL + "/app.tar.gz"}, "", nil,
			map[string]string{"local/app/run.sh": "#!/bin/sh\n", "local/app/cur": "#!/bin/sh\n"}},
		{"zip unpacked in dir mode", Request{Source: srv.URL + "/app.zip", Mode: ModeDir, Destination: "local/zipped"}, "", nil,
			map[string]string{"local/zipped/bin/tool": "tool"}},
		{"archive kept whole in file mode", Request{Source: srv.URL + "/app.zip", Mode: ModeFile, Destination: "local/app.zip"}, "", nil,
			map[string]string{"local/app.zip": string(files["/app.zip"])}},
		{"archive option false", Request{Source: srv.URL + "/app.zip", Options: map[string]string{"archive": "false"}}, "", nil,
			map[string]string{"local/app.zip": string(files["/app.zip"])}},
		{"sha256 verified", Request{Source: srv.URL + "/file.txt", Options: map[string]string{"checksum": sha}}, "", nil,
			map[string]string{"local/file.txt": string(plain)}},
		{"md5 verified", Request{Source: srv.URL + "/file.txt", Options: map[string]string{"checksum": md}}, "", nil,
			map[string]string{"local/file.txt": string(plain)}},
		{"headers and query options", Request{Source: srv.URL + "/secret.txt", Headers: map[string]string{"Authorization": "Bearer t0k"},
			Options: map[string]string{"v": "2"}}, "", nil, map[string]string{"local/secret.txt": string(plain)}},
		{"local path", Request{Source: localFile, Destination: "bin"}, "", nil,
			map[string]string{"bin/tool.sh": "#!/bin/sh\necho hi\n"}},
		{"file url and directory", Request{Source: "file://" + localDir, Destination: "local/copy"}, "", nil,
			map[string]string{"local/copy/tool.sh": "#!/bin/sh\necho hi\n"}},
		{"checksum mismatch", Request{Source: srv.URL + "/app.zip", Options: map[string]string{"checksum": sha}}, "checksums did not match", nil, nil},
		{"bad checksum type", Request{Source: srv.URL + "/file.txt", Options: map[string]string{"checksum": "crc32:00"}}, "type must be", nil, nil},
		{"not found", Request{Source: srv.URL + "/missing.txt"}, "bad response code: 404", nil, nil},
		{"plain file in dir mode", Request{Source: srv.URL + "/file.txt", Mode: ModeDir}, "not an archive", nil, nil},
		{"bad mode", Request{Source: srv.URL + "/file.txt", Mode: "both"}, `mode "both"`, nil, nil},
		{"unsupported scheme", Request{Source: "ftp://example.com/x"}, "unsupported source scheme", nil, nil},
		{"destination escapes", Request{Source: srv.URL + "/file.txt", Destination: "../../evil"}, "", ErrEscapes, nil},
		{"absolute destination", Request{Source: srv.URL + "/file.txt", Destination: "/tmp"}, "", ErrEscapes, nil},
		{"zip slip", Request{Source: srv.URL + "/slip.zip"}, "", ErrEscapes, nil},
		{"tar slip", Request{Source: srv.URL + "/slip.tar.gz"}, "", ErrEscapes, nil},
		{"tar absolute entry", Request{Source: srv.URL + "/abs.tar.gz"}, "", ErrEscapes, nil},
		{"tar symlink out", Request{Source: srv.URL + "/link.tar.gz"}, "", ErrEscapes, nil},
		{"tar write through symlink", Request{Source: srv.URL + "/climb.tar.gz"}, "", ErrEscapes, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outer := t.TempDir()
			taskDir := filepath.Join(outer, "alloc", "task")
			if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
				t.Fatal(err)
			}
			err := (&Fetcher{}).Fetch(context.Background(), taskDir, tc.req)
			switch {
			case tc.isErr != nil:
				if !errors.Is(err, tc.isErr) {
					t.Fatalf("err = %v, want %v", err, tc.isErr)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("fetch: %v", err)
			}
			for rel, want := range tc.want {
				got, err := os.ReadFile(filepath.Join(taskDir, rel))
				if err != nil || string(got) != want {
					t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
				}
			}
			assertNothingOutside(t, outer, taskDir)
		})
	}
}

// assertNothingOutside checks no file appeared outside taskDir.
func assertNothingOutside(t *testing.T, outer, taskDir string) {
	t.Helper()
	filepath.Walk(outer, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && !inside(taskDir, p) {
			t.Errorf("file written outside the task dir: %s", p)
		}
		return nil
	})
}

func TestLocalExecutableKeepsMode(t *testing.T) {
	src := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(src, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	taskDir := t.TempDir()
	if err := (&Fetcher{}).Fetch(context.Background(), taskDir, Request{Source: src}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(taskDir, "local", "run.sh"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("stat = %v, %v; want an executable", fi, err)
	}
}

func TestFetchHTTPSInsecure(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("tls"))
	}))
	defer srv.Close()
	cases := []struct {
		name     string
		insecure bool
		wantErr  string
	}{
		{"self-signed refused", false, "certificate"},
		{"insecure accepted", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			taskDir := t.TempDir()
			err := (&Fetcher{}).Fetch(context.Background(), taskDir, Request{Source: srv.URL + "/x.txt", Insecure: tc.insecure})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(taskDir, "local", "x.txt")); err != nil || string(b) != "tls" {
				t.Fatalf("x.txt = %q, %v", b, err)
			}
		})
	}
}
