package taskrunner

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
)

// Restart reasons, as Nomad words them.
const (
	reasonWithinPolicy = "Restart within policy"
	reasonNoRestarts   = "Policy allows no restarts"
	reasonDelay        = "Exceeded allowed attempts, applying a delay"
	reasonUserRestart  = "User requested restart"
	// reasonTemplateRestart is Nomad's wording for a template's restart.
	reasonTemplateRestart = "Template with change_mode restart re-rendered"
)

func newEvent(typ, display string) *api.TaskEvent {
	return &api.TaskEvent{
		Type: typ, Time: time.Now().UnixNano(), DisplayMessage: display,
		Details: map[string]string{},
	}
}

func receivedEvent() *api.TaskEvent { return newEvent(api.TaskReceived, "Task received by client") }

func setupEvent() *api.TaskEvent {
	e := newEvent(api.TaskSetup, "Building Task Directory")
	e.Message = "Building Task Directory"
	return e
}

func startedEvent() *api.TaskEvent { return newEvent(api.TaskStarted, "Task started by client") }

func setupFailureEvent(err error) *api.TaskEvent {
	e := newEvent(api.TaskSetupFailure, err.Error())
	e.SetupError = err.Error()
	e.Details["setup_error"] = err.Error()
	return e
}

func driverFailureEvent(err error) *api.TaskEvent {
	e := newEvent(api.TaskDriverFailure, err.Error())
	e.DriverError = err.Error()
	e.Details["driver_error"] = err.Error()
	return e
}

// terminatedEvent describes an exit as Nomad does:
// "Exit Code: 1, Signal: 9, Exit Message: ...".
func terminatedEvent(res *drivers.ExitResult) *api.TaskEvent {
	parts := []string{fmt.Sprintf("Exit Code: %d", res.ExitCode)}
	if res.Signal != 0 {
		parts = append(parts, fmt.Sprintf("Signal: %d", res.Signal))
	}
	msg := ""
	if res.Err != nil {
		msg = res.Err.Error()
	} else if res.OOMKilled {
		msg = "OOM Killed"
	}
	if msg != "" {
		parts = append(parts, fmt.Sprintf("Exit Message: %q", msg))
	}
	e := newEvent(api.TaskTerminated, strings.Join(parts, ", "))
	e.ExitCode, e.Signal, e.Message = res.ExitCode, res.Signal, msg
	e.Details["exit_code"] = strconv.Itoa(res.ExitCode)
	e.Details["signal"] = strconv.Itoa(res.Signal)
	if msg != "" {
		e.Details["exit_message"] = msg
	}
	if res.OOMKilled {
		e.Details["oom_killed"] = "true"
	}
	return e
}

func restartingEvent(delay time.Duration, reason string) *api.TaskEvent {
	display := fmt.Sprintf("Task restarting in %v", delay)
	if reason != "" && reason != reasonWithinPolicy {
		display = reason + " - " + display
	}
	e := newEvent(api.TaskRestarting, display)
	e.StartDelay, e.RestartReason = int64(delay), reason
	e.Details["start_delay"] = strconv.FormatInt(int64(delay), 10)
	e.Details["restart_reason"] = reason
	return e
}

func notRestartingEvent(reason string) *api.TaskEvent {
	e := newEvent(api.TaskNotRestarting, reason)
	e.RestartReason = reason
	e.Details["restart_reason"] = reason
	return failsTask(e)
}

// KillingEvent is the event recorded when a task is asked to stop; reason
// may be empty.
func KillingEvent(timeout time.Duration, reason string) *api.TaskEvent {
	display := fmt.Sprintf("Sent interrupt. Waiting %v before force killing", timeout)
	if reason != "" {
		display = "Killing task: " + reason
	}
	e := newEvent(api.TaskKilling, display)
	e.KillTimeout, e.KillReason = timeout, reason
	e.Details["kill_timeout"] = timeout.String()
	if reason != "" {
		e.Details["kill_reason"] = reason
	}
	return e
}

func killedEvent(err error) *api.TaskEvent {
	if err != nil {
		e := newEvent(api.TaskKilled, err.Error())
		e.KillError = err.Error()
		e.Details["kill_error"] = err.Error()
		return e
	}
	return newEvent(api.TaskKilled, "Task successfully killed")
}

// SiblingFailedEvent is recorded on tasks killed because a sibling failed.
func SiblingFailedEvent(sibling string) *api.TaskEvent {
	e := newEvent(api.TaskSiblingFailed, fmt.Sprintf("Task's sibling %q failed", sibling))
	e.FailedSibling = sibling
	e.Details["failed_sibling"] = sibling
	return e
}

func restartSignalEvent(reason string) *api.TaskEvent {
	e := newEvent(api.TaskRestartSignal, reason)
	e.RestartReason = reason
	e.Details["restart_reason"] = reason
	return e
}

func signalingEvent(signal, reason string) *api.TaskEvent {
	display := "Task being sent signal " + signal
	if reason != "" {
		display += ": " + reason
	}
	e := newEvent(api.TaskSignaling, display)
	e.TaskSignal, e.TaskSignalReason = signal, reason
	e.Details["signal"] = signal
	if reason != "" {
		e.Details["reason"] = reason
	}
	return e
}

func failsTask(e *api.TaskEvent) *api.TaskEvent {
	e.FailsTask = true
	e.Details["fails_task"] = "true"
	return e
}

// LeaderDeadEvent is recorded on tasks killed because the group's leader
// task died.
func LeaderDeadEvent() *api.TaskEvent {
	return newEvent(api.TaskLeaderDead, "Leader Task in Group dead")
}
