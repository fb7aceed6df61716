package taskrunner

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
)

// defaultScriptTimeout bounds a change_script that sets no timeout, as
// Nomad's default.
const defaultScriptTimeout = 5 * time.Second

// runChangeScript runs a template's change_script inside the task; a
// failure is recorded and, with fail_on_error, kills the task.
func (tr *TaskRunner) runChangeScript(s *api.ChangeScript) {
	timeout := defaultScriptTimeout
	if s.Timeout != nil && *s.Timeout > 0 {
		timeout = *s.Timeout
	}
	cmd := append([]string{deref(s.Command)}, s.Args...)
	ctx, cancel := context.WithTimeout(tr.shutdown, timeout)
	defer cancel()
	var out bytes.Buffer
	code, err := tr.cfg.Driver.ExecTask(ctx, tr.taskID, cmd, false, drivers.ExecStreams{Stdout: &out, Stderr: &out})
	if err == nil && code == 0 {
		tr.emit(newEvent(TaskTemplateEvent, fmt.Sprintf("Template ran script %s with arguments %v on change", cmd[0], s.Args)), nil)
		return
	}
	if err == nil {
		err = fmt.Errorf("exit code %d", code)
	}
	msg := fmt.Sprintf("Template failed to run script %s with arguments %v on change: %v", cmd[0], s.Args, err)
	if s.FailOnError != nil && *s.FailOnError {
		ev := failsTask(KillingEvent(tr.killTimeout(), msg))
		go func() {
			if err := tr.Kill(context.Background(), ev); err != nil {
				tr.logger.Warn("kill after change_script failure", "error", err)
			}
		}()
		return
	}
	tr.emit(newEvent(TaskTemplateEvent, msg), nil)
}
