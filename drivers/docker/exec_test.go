package docker

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/drivers"
)

func TestExecTask(t *testing.T) {
	requireEngine(t)
	d := newTestDriver(t)
	task := newTask(t, d, "web", nil)
	for path, content := range map[string]string{
		filepath.Join(task.AllocDir, sharedAllocDir, "shared.txt"): "shared",
		filepath.Join(task.TaskDir, "local", "conf.txt"):           "local",
		filepath.Join(task.TaskDir, "secrets", "token"):            "secret",
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.StartTask(task); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		cmd        []string
		tty        bool
		stdin      string
		wantOut    string
		wantCode   int
		wantErrStr string
	}{
		{"echo", []string{"/bin/echo", "hello", "world"}, false, "", "hello world\n", 0, ""},
		{"echo with tty", []string{"echo", "tty"}, true, "", "tty", 0, ""},
		{"exit code", []string{"/webapp", "-exit", "3"}, false, "", "", 3, ""},
		{"stdin to cat", []string{"/webapp", "cat"}, false, "from stdin", "from stdin", 0, ""},
		{"alloc dir mounted", []string{"/webapp", "cat", "/alloc/shared.txt"}, false, "", "shared", 0, ""},
		{"local dir mounted", []string{"/webapp", "cat", "/local/conf.txt"}, false, "", "local", 0, ""},
		{"secrets dir mounted", []string{"/webapp", "cat", "/secrets/token"}, false, "", "secret", 0, ""},
		{"task env", []string{"/webapp", "env"}, false, "", "NOMAD_ALLOC_DIR=/alloc", 0, ""},
		{"missing binary", []string{"/bin/nope"}, false, "", "", 0, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			streams := drivers.ExecStreams{Stdout: &stdout, Stderr: &stderr}
			if tc.stdin != "" {
				streams.Stdin = strings.NewReader(tc.stdin)
			}
			code, err := d.ExecTask(ctx, task.ID, tc.cmd, tc.tty, streams)
			if tc.wantErrStr != "" {
				if (err == nil || !strings.Contains(err.Error(), tc.wantErrStr)) && code == 0 {
					t.Fatalf("exec = %d, %v; want an error or non-zero code", code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || !strings.Contains(stdout.String(), tc.wantOut) {
				t.Fatalf("exec = %d, stdout %q, stderr %q; want %d, %q", code, stdout.String(), stderr.String(), tc.wantCode, tc.wantOut)
			}
		})
	}
}
