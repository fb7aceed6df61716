package fsapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client"
	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/client/fsapi"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/rawexec"
	"github.com/roam-project/roam/internal/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// env is a client running behind the fs handler, reached with the official
// API client.
type env struct {
	servers *clienttest.Servers
	client  *client.Client
	api     *api.Client
	url     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d := rawexec.New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	servers := clienttest.NewServers()
	c, err := client.New(&client.Config{
		StateDir: filepath.Join(dir, "client"), AllocDir: filepath.Join(dir, "alloc"), NetworkInterface: "lo",
		Drivers: map[string]drivers.Driver{"raw_exec": d}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, servers)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(context.Background()) }()
	srv := httptest.NewServer(fsapi.Handler(c))
	t.Cleanup(func() { srv.Close(); c.Shutdown(); <-done })
	apiClient, err := api.NewClient(&api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &env{servers: servers, client: c, api: apiClient, url: srv.URL}
}

// run places an alloc with one task and waits for the client status.
func (e *env) run(t *testing.T, jobType, script, status string) *api.Allocation {
	t.Helper()
	alloc := clienttest.Alloc(e.client.Node().ID, jobType, clienttest.ShellTask("web", script))
	e.servers.PutAlloc(alloc)
	waitFor(t, "alloc "+status, func() bool { return e.servers.Alloc(alloc.ID).ClientStatus == status })
	if jobType == "service" {
		t.Cleanup(func() {
			e.servers.StopAlloc(alloc.ID)
			waitFor(t, "alloc stopped", func() bool { return e.servers.Alloc(alloc.ID).ClientStatus == "complete" })
		})
	}
	return e.servers.Alloc(alloc.ID)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readLogs reads a log stream until it ends or until want is seen.
func readLogs(t *testing.T, e *env, alloc *api.Allocation, follow bool, kind, origin string, offset int64, want string) (string, []*api.StreamFrame) {
	t.Helper()
	cancel := make(chan struct{})
	defer close(cancel)
	frames, errCh := e.api.AllocFS().Logs(alloc, follow, "web", kind, origin, offset, cancel, nil)
	var b strings.Builder
	var got []*api.StreamFrame
	timeout := time.After(20 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				return b.String(), got
			}
			got = append(got, f)
			b.Write(f.Data)
			if want != "" && strings.Contains(b.String(), want) {
				return b.String(), got
			}
		case err := <-errCh:
			t.Fatalf("logs: %v", err)
		case <-timeout:
			t.Fatalf("logs: timed out with %q", b.String())
		}
	}
}

func TestLogs(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "batch", `echo hello; echo world; echo oops >&2`, "complete")
	cases := []struct {
		name, kind, origin string
		offset             int64
		want               string
	}{
		{"stdout from start", "stdout", "start", 0, "hello\nworld\n"},
		{"stdout from offset", "stdout", "start", 6, "world\n"},
		{"stdout from end", "stdout", "end", 3, "ld\n"},
		{"stderr", "stderr", "start", 0, "oops\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, frames := readLogs(t, e, alloc, false, tc.kind, tc.origin, tc.offset, "")
			if got != tc.want {
				t.Fatalf("logs = %q, want %q", got, tc.want)
			}
			if frames[0].File != "alloc/logs/web."+tc.kind+".0" {
				t.Fatalf("frame file %q", frames[0].File)
			}
		})
	}
	t.Run("plain", func(t *testing.T) {
		resp, err := http.Get(e.url + "/v1/client/fs/logs/" + alloc.ID + "?task=web&type=stdout&plain=true")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "hello\nworld\n" {
			t.Fatalf("plain logs = %q", body)
		}
	})
}

func TestLogsFollow(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "service", `i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done`, "running")
	got, _ := readLogs(t, e, alloc, true, "stdout", "start", 0, "line5\n")
	if !strings.HasPrefix(got, "line0\nline1\n") {
		t.Fatalf("followed logs = %q", got)
	}
}

func TestFiles(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "batch", `echo 0123456789 > $NOMAD_ALLOC_DIR/data/numbers`, "complete")
	fs := e.api.AllocFS()
	t.Run("ls", func(t *testing.T) {
		files, _, err := fs.List(alloc, "alloc", nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
		}
		if strings.Join(names, ",") != "data,logs,tmp" || !files[0].IsDir || files[0].FileMode != "drwxrwxrwx" {
			t.Fatalf("ls alloc = %v (%+v)", names, files[0])
		}
	})
	t.Run("stat", func(t *testing.T) {
		fi, _, err := fs.Stat(alloc, "alloc/data/numbers", nil)
		if err != nil || fi.Name != "numbers" || fi.Size != 11 || fi.IsDir || !strings.HasPrefix(fi.ContentType, "text/plain") {
			t.Fatalf("stat = %+v, %v", fi, err)
		}
	})
	reads := []struct {
		name string
		open func() (io.ReadCloser, error)
		want string
	}{
		{"cat", func() (io.ReadCloser, error) { return fs.Cat(alloc, "alloc/data/numbers", nil) }, "0123456789\n"},
		{"readat", func() (io.ReadCloser, error) { return fs.ReadAt(alloc, "alloc/data/numbers", 2, 3, nil) }, "234"},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, _ := io.ReadAll(r)
			if string(got) != tc.want {
				t.Fatalf("%s = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "batch", `true`, "complete")
	unknown := &api.Allocation{ID: "8ba85cef-7d4b-4b5b-9b1c-000000000000"}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown alloc", func() error { _, _, err := e.api.AllocFS().List(unknown, "/", nil); return err },
			`Unexpected response code: 404 (Unknown allocation "8ba85cef-7d4b-4b5b-9b1c-000000000000")`},
		{"missing file", func() error { _, _, err := e.api.AllocFS().Stat(alloc, "nope", nil); return err },
			`Unexpected response code: 404 (file "nope" not found)`},
		{"cat a directory", func() error { _, err := e.api.AllocFS().Cat(alloc, "alloc", nil); return err },
			`Unexpected response code: 400 (file "alloc" is a directory)`},
		{"restart a dead task", func() error { return e.api.Allocations().Restart(alloc, "web", nil) },
			`Unexpected response code: 500 (Task not running)`},
		{"NUL byte in a path", func() error { _, err := e.api.AllocFS().Cat(alloc, "alloc/\x00x", nil); return err },
			`Unexpected response code: 400 (invalid path "alloc/\x00x": path contains a NUL byte)`},
		{"NUL byte in a listed path", func() error { _, _, err := e.api.AllocFS().List(alloc, "alloc\x00", nil); return err },
			`Unexpected response code: 400 (invalid path "alloc\x00": path contains a NUL byte)`},
		{"negative offset", func() error {
			_, err := e.api.AllocFS().ReadAt(alloc, "alloc/logs/web.stdout.0", -1, 10, nil)
			return err
		}, `Unexpected response code: 400 (offset must be non-negative)`},
		{"a task's secrets", func() error { _, err := e.api.AllocFS().Cat(alloc, "web/secrets/nomad_token", nil); return err },
			`Unexpected response code: 403 (Permission denied: a task's secrets directory`},
		{"a task's secrets listed", func() error { _, _, err := e.api.AllocFS().List(alloc, "/web/./secrets", nil); return err },
			`Unexpected response code: 403`},
		{"symlink out of the directory", func() error { _, err := e.api.AllocFS().Cat(alloc, "web/local/out", nil); return err },
			`Unexpected response code: 400 (path "web/local/out" escapes the allocation directory)`},
	}
	ar, err := e.client.AllocRunner(alloc.ID)
	if err != nil {
		t.Fatal(err)
	}
	hostDir := ar.AllocDir().Dir
	if err := os.Symlink("/etc/hostname", filepath.Join(hostDir, "web", "local", "out")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), hostDir) {
				t.Fatalf("err = %v shows the host path %s", err, hostDir)
			}
		})
	}
}

func TestAllocActions(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "service", `trap 'echo got-usr1' USR1; echo ready; while true; do sleep 0.05; done`, "running")
	state := func() *api.TaskState { return e.servers.Alloc(alloc.ID).TaskStates["web"] }
	t.Run("stats", func(t *testing.T) {
		stats, err := e.api.Allocations().Stats(alloc, nil)
		if err != nil || stats.Tasks["web"] == nil || stats.ResourceUsage.MemoryStats.RSS == 0 {
			t.Fatalf("stats = %+v, %v", stats, err)
		}
	})
	t.Run("signal", func(t *testing.T) {
		waitFor(t, "task ready", func() bool { return logsContain(t, e, alloc, "ready") })
		if err := e.api.Allocations().Signal(alloc, nil, "web", "SIGUSR1"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "signal handled", func() bool { return logsContain(t, e, alloc, "got-usr1") })
	})
	t.Run("restart", func(t *testing.T) {
		if err := e.api.Allocations().Restart(alloc, "web", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "task restarted", func() bool { s := state(); return s.Restarts == 1 && s.State == "running" })
		var found bool
		for _, ev := range state().Events {
			found = found || ev.Type == "Restart Signaled" && ev.DisplayMessage == "User requested restart"
		}
		if !found {
			t.Fatal("no Restart Signaled event")
		}
	})
	t.Run("host stats", func(t *testing.T) {
		stats, err := e.api.Nodes().Stats(e.client.Node().ID, nil)
		if err != nil || stats.Memory.Total == 0 || len(stats.CPU) == 0 {
			t.Fatalf("host stats = %+v, %v", stats, err)
		}
	})
}

func logsContain(t *testing.T, e *env, alloc *api.Allocation, want string) bool {
	got, _ := readLogs(t, e, alloc, false, "stdout", "start", 0, "")
	return strings.Contains(got, want)
}

func TestGC(t *testing.T) {
	e := newEnv(t)
	running := e.run(t, "service", `while true; do sleep 0.05; done`, "running")
	done := e.run(t, "batch", `true`, "complete")
	err := e.api.Allocations().GC(running, nil)
	if err == nil || !strings.Contains(err.Error(), "400 (allocation is not terminal") {
		t.Fatalf("GC of a running alloc: %v", err)
	}
	if err := e.api.Nodes().GC(e.client.Node().ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AllocRunner(done.ID); err == nil {
		t.Fatal("terminal alloc still on the client after GC")
	}
	if _, err := e.client.AllocRunner(running.ID); err != nil {
		t.Fatalf("running alloc was collected: %v", err)
	}
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "service", `while true; do sleep 0.05; done`, "running")
	cases := []struct {
		name       string
		tty        bool
		command    []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"pipes", false, []string{"/bin/sh", "-c", `echo out $NOMAD_TASK_NAME; echo err >&2; read x; echo got $x; exit 4`},
			"hi\n", 4, "out web\ngot hi\n", "err\n"},
		{"terminal", true, []string{"/bin/sh", "-c", `tty >/dev/null && echo is-tty`}, "", 0, "is-tty\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code, err := e.api.Allocations().Exec(ctx, alloc, "web", tc.tty, tc.command,
				strings.NewReader(tc.stdin), &stdout, &stderr, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || stdout.String() != tc.wantStdout || stderr.String() != tc.wantStderr {
				t.Fatalf("exit %d stdout %q stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

// TestLogsFollowAcrossRotation follows a task's stdout while its writes
// rotate it across several files: every line arrives, once and in order.
func TestLogsFollowAcrossRotation(t *testing.T) {
	e := newEnv(t)
	const lines = 30000 // about 2.6 MB: three 1 MB files
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do printf 'line%%06d 0123456789012345678901234567890123456789012345678901234567890123456789\n' $i; i=$((i+1)); done; echo DONE; exec sleep 1000`, lines)
	task := clienttest.ShellTask("web", script)
	task.LogConfig = &api.LogConfig{MaxFiles: ptr(5), MaxFileSizeMB: ptr(1)}
	alloc := clienttest.Alloc(e.client.Node().ID, "service", task)
	e.servers.PutAlloc(alloc)
	waitFor(t, "alloc running", func() bool { return e.servers.Alloc(alloc.ID).ClientStatus == "running" })
	t.Cleanup(func() {
		e.servers.StopAlloc(alloc.ID)
		waitFor(t, "alloc stopped", func() bool { return e.servers.Alloc(alloc.ID).ClientStatus == "complete" })
	})
	got, frames := readLogs(t, e, e.servers.Alloc(alloc.ID), true, "stdout", "start", 0, "DONE\n")
	files := map[string]bool{}
	for _, f := range frames {
		if f.File != "" {
			files[f.File] = true
		}
	}
	if len(files) < 3 {
		t.Fatalf("followed %d files (%v), want the stream to cross rotations", len(files), files)
	}
	out := strings.Split(strings.TrimSuffix(got, "DONE\n"), "\n")
	out = out[:len(out)-1]
	if len(out) != lines {
		t.Fatalf("got %d lines, want %d", len(out), lines)
	}
	for i, l := range out {
		if want := fmt.Sprintf("line%06d ", i); !strings.HasPrefix(l, want) {
			t.Fatalf("line %d is %q, want prefix %q", i, l[:min(len(l), 20)], want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestExecErrors: an exec that cannot start answers over the websocket,
// closing it with the reason, which Nomad's API client returns.
func TestExecErrors(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "service", `while true; do sleep 0.05; done`, "running")
	unknown := *alloc
	unknown.ID = "8d2b5a7e-0000-0000-0000-000000000000"
	cases := []struct {
		name    string
		alloc   *api.Allocation
		task    string
		command []string
		want    string
	}{
		{"unknown allocation", &unknown, "web", []string{"/bin/true"}, `Unknown allocation "8d2b5a7e-0000-0000-0000-000000000000"`},
		{"unknown task", alloc, "nope", []string{"/bin/true"}, `unknown task name "nope"`},
		{"no command", alloc, "web", []string{}, "command is not a non-empty JSON array of strings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code, err := e.api.Allocations().Exec(ctx, tc.alloc, tc.task, false, tc.command,
				strings.NewReader(""), io.Discard, io.Discard, nil, nil)
			if code != -2 || err == nil || err.Error() != tc.want {
				t.Fatalf("exit %d, err %v; want -2, %q", code, err, tc.want)
			}
		})
	}
}
