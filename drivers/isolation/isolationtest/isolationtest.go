// Package isolationtest holds test helpers for the drivers built on
// drivers/isolation: task directories laid out as the client lays them
// out, running a task to its end and reading its logs.
package isolationtest

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/drivers"
)

// Timeout bounds every wait of these helpers.
const Timeout = 2 * time.Minute

// RequireRoot skips the test unless it runs as root (isolation needs it).
func RequireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("isolating tasks needs root")
	}
}

// TaskConfig returns the config of a task named name in a fresh alloc
// directory laid out as the client lays it out: AllocDir is <alloc>, with
// alloc/ (shared, with logs/) and <name>/ (with local/ and secrets/).
func TaskConfig(t *testing.T, name string, config map[string]any, memoryMB int64) *drivers.TaskConfig {
	t.Helper()
	allocRoot := t.TempDir()
	if err := os.Chmod(allocRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	allocDir, taskDir := filepath.Join(allocRoot, "alloc"), filepath.Join(allocRoot, name)
	for _, dir := range []string{filepath.Join(allocDir, "logs"), filepath.Join(taskDir, "local"), filepath.Join(taskDir, "secrets")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	allocID := rand.Text()
	return &drivers.TaskConfig{
		ID: allocID + "/" + name, AllocID: allocID, TaskName: name, JobName: "job", GroupName: "group",
		Config: config,
		Env: map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin", "NOMAD_TASK_NAME": name,
			"NOMAD_TASK_DIR": filepath.Join(taskDir, "local")},
		Resources: drivers.Resources{CPUShares: 100, MemoryMB: memoryMB},
		AllocDir:  allocRoot, TaskDir: taskDir,
		StdoutPath:  filepath.Join(allocDir, "logs", name+".stdout"),
		StderrPath:  filepath.Join(allocDir, "logs", name+".stderr"),
		LogMaxFiles: 2, LogMaxFileSizeMB: 1,
	}
}

// Run starts cfg with d, waits for it to end, destroys it and returns how
// it ended.
func Run(t *testing.T, d drivers.Driver, cfg *drivers.TaskConfig) *drivers.ExitResult {
	t.Helper()
	if _, err := d.StartTask(cfg); err != nil {
		t.Fatalf("start task: %v", err)
	}
	res := Wait(t, d, cfg.ID)
	if err := d.DestroyTask(cfg.ID, false); err != nil {
		t.Errorf("destroy task: %v", err)
	}
	return res
}

// Wait waits for the task to end and returns how it ended.
func Wait(t *testing.T, d drivers.Driver, taskID string) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	ch, err := d.WaitTask(ctx, taskID)
	if err != nil {
		t.Fatalf("wait task: %v", err)
	}
	res, ok := <-ch
	if !ok || res == nil {
		t.Fatalf("task %s did not end within %s", taskID, Timeout)
	}
	return res
}

// ReadLog returns the first rotated file of a log (base + ".0").
func ReadLog(t *testing.T, base string) string {
	t.Helper()
	data, err := os.ReadFile(base + ".0")
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read log: %v", err)
	}
	return string(data)
}

// WaitForLog waits until the log's first file contains want, failing at
// once if the task ends first.
func WaitForLog(t *testing.T, d drivers.Driver, taskID, base, want string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited, err := d.WaitTask(ctx, taskID)
	if err != nil {
		t.Fatalf("wait task: %v", err)
	}
	WaitFor(t, "log "+base+" to contain "+want, func() bool {
		if strings.Contains(ReadLog(t, base), want) {
			return true
		}
		select {
		case res := <-exited:
			t.Fatalf("task ended (%+v) before log %s contained %q; stderr: %s", res, base, want,
				ReadLog(t, strings.TrimSuffix(base, ".stdout")+".stderr"))
		default:
		}
		return false
	})
}

// WaitFor polls cond until it holds, failing the test after Timeout.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
