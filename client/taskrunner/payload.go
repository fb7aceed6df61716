package taskrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/roam-project/roam/drivers"
)

// payloadHook writes a dispatched job's payload into the task's local
// directory, at the file its `dispatch_payload` block names.
type payloadHook struct{}

func (payloadHook) Name() string { return "dispatch_payload" }

func (payloadHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	task := tr.cfg.Task
	if task.DispatchPayload == nil || task.DispatchPayload.File == "" {
		return nil
	}
	tr.mu.Lock()
	job := tr.alloc.Job
	tr.mu.Unlock()
	if job == nil || len(job.Payload) == 0 {
		return nil
	}
	local := tr.cfg.AllocDir.TaskDir(task.Name).LocalDir
	dest := filepath.Join(local, task.DispatchPayload.File)
	if rel, err := filepath.Rel(local, dest); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("dispatch_payload file %q escapes the task's local directory", task.DispatchPayload.File)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("write dispatch payload: %w", err)
	}
	if err := os.WriteFile(dest, job.Payload, 0o644); err != nil {
		return fmt.Errorf("write dispatch payload: %w", err)
	}
	return nil
}
