package mock

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
)

func enabledDriver(t *testing.T) *Driver {
	t.Helper()
	d := New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	if fp := d.Fingerprint(context.Background()); !fp.Detected || !fp.Healthy {
		t.Fatalf("enabled driver fingerprints %+v", fp)
	}
	return d
}

func newTask(t *testing.T, id string, config map[string]any) *drivers.TaskConfig {
	dir := t.TempDir()
	return &drivers.TaskConfig{
		ID: id, Config: config, TaskDir: dir,
		StdoutPath: filepath.Join(dir, "task.stdout"),
		StderrPath: filepath.Join(dir, "task.stderr"),
	}
}

func logged(t *testing.T, base string) string {
	t.Helper()
	b, err := os.ReadFile(logging.FileName(base, 0))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wait(t *testing.T, d *Driver, id string) *drivers.ExitResult {
	t.Helper()
	ch, err := d.WaitTask(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-ch:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("task did not exit")
		return nil
	}
}

func TestTaskRunsAndExits(t *testing.T) {
	cases := []struct {
		name       string
		config     map[string]any
		wantStdout string
		wantStderr string
		wantCode   int
		wantErr    string
	}{
		{"output then success", map[string]any{"stdout_string": "hello\n"}, "hello\n", "", 0, ""},
		{"repeated output", map[string]any{"stdout_string": "a", "stdout_repeat": int64(3), "stdout_repeat_duration": "1ms", "stderr_string": "e"}, "aaaa", "e", 0, ""},
		{"exit code after run_for", map[string]any{"run_for": "20ms", "exit_code": float64(3)}, "", "", 3, ""},
		{"exit error", map[string]any{"exit_code": 1, "exit_err_msg": "boom"}, "", "", 1, "boom"},
	}
	d := enabledDriver(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newTask(t, tc.name, tc.config)
			if _, err := d.StartTask(cfg); err != nil {
				t.Fatal(err)
			}
			res := wait(t, d, cfg.ID)
			if res.ExitCode != tc.wantCode {
				t.Errorf("exit code %d, want %d", res.ExitCode, tc.wantCode)
			}
			if (res.Err == nil) != (tc.wantErr == "") || (res.Err != nil && res.Err.Error() != tc.wantErr) {
				t.Errorf("exit error %v, want %q", res.Err, tc.wantErr)
			}
			if got := logged(t, cfg.StdoutPath); got != tc.wantStdout {
				t.Errorf("stdout %q, want %q", got, tc.wantStdout)
			}
			if got := logged(t, cfg.StderrPath); got != tc.wantStderr {
				t.Errorf("stderr %q, want %q", got, tc.wantStderr)
			}
			if err := d.DestroyTask(cfg.ID, false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStopEndsALongTask(t *testing.T) {
	d := enabledDriver(t)
	cfg := newTask(t, "long", map[string]any{"run_for": "1h", "kill_after": "10ms"})
	if _, err := d.StartTask(cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.DestroyTask(cfg.ID, false); err == nil {
		t.Fatal("destroying a running task without force succeeded")
	}
	if err := d.StopTask(cfg.ID, time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, d, cfg.ID); res.Signal != int(syscall.SIGTERM) || res.Successful() {
		t.Fatalf("stopped task ended %+v, want signal %d", res, syscall.SIGTERM)
	}
}

func TestBadConfigAndStartErrors(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{"unknown key", map[string]any{"command": "/bin/true"}, `unknown key "command"`},
		{"bad duration", map[string]any{"run_for": "soon"}, `"run_for"`},
		{"string for a number", map[string]any{"exit_code": "1"}, `"exit_code" must be a number`},
		{"start error", map[string]any{"start_error": "no luck"}, "no luck"},
	}
	d := enabledDriver(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.StartTask(newTask(t, tc.name, tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("StartTask error %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
	if err := New().SetConfig(map[string]any{"enabled": "yes"}); err == nil {
		t.Error("a string for enabled was accepted")
	}
	if fp := New().Fingerprint(context.Background()); fp.Detected {
		t.Error("a driver without config is detected")
	}
}
