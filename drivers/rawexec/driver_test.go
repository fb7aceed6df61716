package rawexec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/logging"
	"github.com/roam-project/roam/internal/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func newDriver(t *testing.T) *Driver {
	t.Helper()
	d := New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	return d
}

func newTaskConfig(t *testing.T, script string) *drivers.TaskConfig {
	t.Helper()
	dir := t.TempDir()
	taskDir := filepath.Join(dir, "web")
	logs := filepath.Join(dir, "alloc", "logs")
	for _, d := range []string{taskDir, logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &drivers.TaskConfig{
		ID: "alloc1/web", AllocID: "alloc1", TaskName: "web",
		Config:  map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
		Env:     map[string]string{"PATH": "/usr/bin:/bin", "GREETING": "hello"},
		TaskDir: taskDir, AllocDir: dir,
		StdoutPath: filepath.Join(logs, "web.stdout"), StderrPath: filepath.Join(logs, "web.stderr"),
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func logContains(cfg *drivers.TaskConfig, want string) func() bool {
	return func() bool {
		data, _ := os.ReadFile(logging.FileName(cfg.StdoutPath, 0))
		return strings.Contains(string(data), want)
	}
}

func wait(t *testing.T, d drivers.Driver, id string) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := <-ch
	if !ok {
		t.Fatal("task did not exit in time")
	}
	return res
}

func TestStartTaskExitAndLogs(t *testing.T) {
	cases := []struct {
		name     string
		script   string
		wantCode int
		stdout   string
		stderr   string
	}{
		{"success", `echo out $GREETING; echo err >&2`, 0, "out hello\n", "err\n"},
		{"exit code", `echo failing; exit 3`, 3, "failing\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			cfg := newTaskConfig(t, tc.script)
			if _, err := d.StartTask(cfg); err != nil {
				t.Fatal(err)
			}
			res := wait(t, d, cfg.ID)
			if res.ExitCode != tc.wantCode || res.Err != nil {
				t.Fatalf("exit = %+v, want code %d", res, tc.wantCode)
			}
			out, _ := os.ReadFile(logging.FileName(cfg.StdoutPath, 0))
			errOut, _ := os.ReadFile(logging.FileName(cfg.StderrPath, 0))
			if string(out) != tc.stdout || string(errOut) != tc.stderr {
				t.Fatalf("stdout %q stderr %q, want %q %q", out, errOut, tc.stdout, tc.stderr)
			}
		})
	}
}

func TestLogRotation(t *testing.T) {
	d := newDriver(t)
	cfg := newTaskConfig(t, `i=0; while [ $i -lt 3000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789; i=$((i+1)); done`)
	cfg.LogMaxFiles, cfg.LogMaxFileSizeMB = 2, 1
	if _, err := d.StartTask(cfg); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("exit = %+v", res)
	}
	idx, err := logging.Indexes(cfg.StdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != 2 || idx[1] < 1 {
		t.Fatalf("rotated indexes = %v, want two files after rotation", idx)
	}
}

func TestStopTask(t *testing.T) {
	cases := []struct {
		name       string
		script     string
		signal     string
		killSignal string
		wantCode   int
		wantSignal int
	}{
		{"kill_signal honoured", `trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.05; done`, "", "SIGTERM", 0, 0},
		{"signal argument wins", `trap 'exit 4' USR1; echo ready; while true; do sleep 0.05; done`, "SIGUSR1", "SIGTERM", 4, 0},
		{"kill_timeout escalates", `trap '' INT TERM; echo ready; while true; do sleep 0.05; done`, "", "SIGTERM", 128 + 9, 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			cfg := newTaskConfig(t, tc.script)
			cfg.KillSignal = tc.killSignal
			if _, err := d.StartTask(cfg); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "task ready", logContains(cfg, "ready"))
			start := time.Now()
			if err := d.StopTask(cfg.ID, 300*time.Millisecond, tc.signal); err != nil {
				t.Fatal(err)
			}
			res := wait(t, d, cfg.ID)
			if res.ExitCode != tc.wantCode || res.Signal != tc.wantSignal {
				t.Fatalf("exit = %+v, want code %d signal %d", res, tc.wantCode, tc.wantSignal)
			}
			if tc.wantSignal == 9 && time.Since(start) < 300*time.Millisecond {
				t.Fatal("killed before kill_timeout passed")
			}
		})
	}
}

func TestRecoverTask(t *testing.T) {
	cases := []struct {
		name     string
		script   string
		exitWait bool // let the task exit before recovering
		wantCode int
	}{
		{"running task", `echo ready; while true; do sleep 0.05; done`, false, 128 + int(syscall.SIGINT)},
		{"task exited while away", `echo ready; exit 7`, true, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := newDriver(t)
			cfg := newTaskConfig(t, tc.script)
			handle, err := first.StartTask(cfg)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "task ready", logContains(cfg, "ready"))
			if tc.exitWait {
				wait(t, first, cfg.ID)
			}
			second := newDriver(t)
			if err := second.RecoverTask(handle); err != nil {
				t.Fatal(err)
			}
			if !tc.exitWait {
				stats, err := second.TaskStats(context.Background(), cfg.ID)
				if err != nil || len(stats.PIDs) == 0 {
					t.Fatalf("stats = %+v, %v; want the running pids", stats, err)
				}
				if err := second.StopTask(cfg.ID, time.Second, ""); err != nil {
					t.Fatal(err)
				}
			}
			if res := wait(t, second, cfg.ID); res.ExitCode != tc.wantCode {
				t.Fatalf("exit = %+v, want code %d", res, tc.wantCode)
			}
		})
	}
}

func TestValidateConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{"valid", map[string]any{"command": "/bin/true", "args": []any{"a"}}, ""},
		{"missing command", map[string]any{"args": []any{"a"}}, "missing required key \"command\""},
		{"unknown key", map[string]any{"command": "x", "image": "y"}, "unknown key \"image\""},
		{"mistyped args", map[string]any{"command": "x", "args": "y"}, "\"args\" must be a list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := New().ValidateConfig(tc.config)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	if fp := New().Fingerprint(context.Background()); fp.Detected || fp.Healthy {
		t.Fatalf("disabled driver fingerprint = %+v", fp)
	}
	fp := newDriver(t).Fingerprint(context.Background())
	if !fp.Detected || !fp.Healthy || fp.Attributes[""] != "1" {
		t.Fatalf("enabled driver fingerprint = %+v", fp)
	}
}

func TestStartMissingCommand(t *testing.T) {
	d := newDriver(t)
	cfg := newTaskConfig(t, "")
	cfg.Config = map[string]any{"command": "no-such-command-roam"}
	if _, err := d.StartTask(cfg); err == nil || !strings.Contains(err.Error(), "no-such-command-roam") {
		t.Fatalf("err = %v, want command not found", err)
	}
}
