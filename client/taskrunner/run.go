package taskrunner

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/structs"
)

// exitKind says why waiting on a task ended.
type exitKind int

const (
	exitedByItself exitKind = iota
	exitedKilled
	exitedRestart
	exitedShutdown
)

// Run runs the task until it is dead for good or the client shuts down.
func (tr *TaskRunner) Run() {
	defer close(tr.waitCh)
	defer tr.tmpl.stop()
	defer tr.taskAPI.stop()
	if !tr.begin() {
		return
	}
	go tr.renewIdentities()
	if tr.loop(tr.recover()) == outcomeKilled {
		tr.emit(killedEvent(nil), markDead)
	}
}

// outcome is how the run loop ended.
type outcome int

const (
	outcomeDead outcome = iota
	outcomeKilled
	outcomeShutdown
)

// loop starts (or, given exitCh, waits on) the task and restarts it by
// policy until it is dead, killed or the client shuts down.
func (tr *TaskRunner) loop(exitCh <-chan *drivers.ExitResult) outcome {
	for {
		if exitCh == nil {
			if o, ok := tr.waitGate(); !ok {
				return o
			}
			var err error
			if exitCh, err = tr.start(); err != nil {
				if tr.shutdown.Err() != nil {
					return outcomeShutdown
				}
				if o, again := tr.afterExit(&drivers.ExitResult{ExitCode: -1, Err: err}); !again {
					return o
				}
				continue
			}
		}
		res, kind := tr.wait(exitCh)
		exitCh = nil
		if kind == exitedShutdown {
			return outcomeShutdown
		}
		tr.emit(terminatedEvent(res), func(s *api.TaskState) { tr.running = false })
		switch kind {
		case exitedKilled:
			return outcomeKilled
		case exitedRestart:
			tr.emit(restartingEvent(0, ""), markRestarting)
		default:
			if o, again := tr.afterExit(res); !again {
				return o
			}
		}
	}
}

// waitGate waits until the task may start; false with the reason when it
// was killed or the client shut down first.
func (tr *TaskRunner) waitGate() (outcome, bool) {
	if tr.killed() {
		return outcomeKilled, false
	}
	if tr.cfg.StartGate == nil {
		return 0, true
	}
	select {
	case <-tr.cfg.StartGate:
		return 0, true
	case <-tr.killCh:
		return outcomeKilled, false
	case <-tr.shutdown.Done():
		return outcomeShutdown, false
	}
}

// begin reports whether there is anything to run.
func (tr *TaskRunner) begin() bool {
	if tr.cfg.Driver == nil {
		err := fmt.Errorf("failed to find driver %q on this node", tr.cfg.Task.Driver)
		tr.emit(failsTask(driverFailureEvent(err)), markDead)
		return false
	}
	s := tr.State()
	if s.State == structs.TaskStateDead {
		return false
	}
	if len(s.Events) == 0 {
		tr.emit(receivedEvent(), nil)
	}
	return true
}

// recover re-attaches to a task an earlier client started. It returns the
// task's exit channel, or nil when there is nothing to re-attach to.
func (tr *TaskRunner) recover() <-chan *drivers.ExitResult {
	tr.mu.Lock()
	handle, st := tr.handle, tr.state.State
	tr.mu.Unlock()
	if st != structs.TaskStateRunning {
		return nil
	}
	failed := func(err error) <-chan *drivers.ExitResult {
		tr.logger.Warn("could not re-attach to task", "error", err)
		ch := make(chan *drivers.ExitResult, 1)
		ch <- &drivers.ExitResult{ExitCode: -1, Err: err}
		return ch
	}
	if handle == nil {
		return failed(fmt.Errorf("no handle to re-attach to the task"))
	}
	if err := tr.cfg.Driver.RecoverTask(handle); err != nil {
		return failed(err)
	}
	ch, err := tr.cfg.Driver.WaitTask(tr.shutdown, tr.taskID)
	if err != nil {
		return failed(err)
	}
	tr.mu.Lock()
	tr.running = true
	tr.mu.Unlock()
	tr.logger.Info("re-attached to running task")
	go tr.resignIdentities()
	go tr.tmpl.resume(tr)
	return ch
}

// start runs the prestart hooks and starts the task.
func (tr *TaskRunner) start() (<-chan *drivers.ExitResult, error) {
	if !tr.hasEvent(api.TaskSetup) {
		tr.emit(setupEvent(), nil)
	}
	cfg, err := tr.prestart()
	if err != nil {
		tr.emit(prestartFailedEvent(err), nil)
		return nil, err
	}
	handle, err := tr.cfg.Driver.StartTask(cfg)
	if err != nil {
		tr.emit(driverFailureEvent(err), nil)
		return nil, err
	}
	tr.mu.Lock()
	tr.handle = handle
	tr.mu.Unlock()
	ch, err := tr.cfg.Driver.WaitTask(tr.shutdown, tr.taskID)
	if err != nil {
		tr.destroy()
		return nil, fmt.Errorf("wait on task: %w", err)
	}
	tr.emit(startedEvent(), func(s *api.TaskState) {
		tr.running = true
		s.State = structs.TaskStateRunning
		s.StartedAt = time.Now().UTC()
	})
	return ch, nil
}

// wait blocks until the task exits, is killed, is restarted on request or
// the client shuts down.
func (tr *TaskRunner) wait(exitCh <-chan *drivers.ExitResult) (*drivers.ExitResult, exitKind) {
	kind := exitedByItself
	select {
	case res, ok := <-exitCh:
		if !ok {
			return nil, exitedShutdown
		}
		tr.destroy()
		return res, kind
	case <-tr.shutdown.Done():
		return nil, exitedShutdown
	case <-tr.killCh:
		kind = exitedKilled
		if err := tr.cfg.Driver.StopTask(tr.taskID, tr.killTimeout(), tr.cfg.Task.KillSignal); err != nil {
			tr.logger.Error("stop task", "error", err)
		}
	case req := <-tr.restartCh:
		kind = exitedRestart
		tr.emit(restartSignalEvent(req.reason), nil)
		req.done <- tr.cfg.Driver.StopTask(tr.taskID, tr.killTimeout(), tr.cfg.Task.KillSignal)
	}
	res, ok := <-exitCh
	if !ok {
		return nil, exitedShutdown
	}
	tr.destroy()
	return res, kind
}

func (tr *TaskRunner) destroy() {
	if err := tr.cfg.Driver.DestroyTask(tr.taskID, true); err != nil {
		tr.logger.Warn("destroy task", "error", err)
	}
}

// afterExit applies the restart policy; it reports whether to start again
// (once the delay has passed) and, if not, why.
func (tr *TaskRunner) afterExit(res *drivers.ExitResult) (outcome, bool) {
	d := tr.tracker.next(res)
	if !d.Restart {
		var ev *api.TaskEvent
		if d.Failed {
			ev = notRestartingEvent(d.Reason)
		}
		tr.emit(ev, markDead)
		return outcomeDead, false
	}
	tr.emit(restartingEvent(d.Delay, d.Reason), markRestarting)
	timer := time.NewTimer(d.Delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return 0, true
	case <-tr.killCh:
		return outcomeKilled, false
	case <-tr.shutdown.Done():
		return outcomeShutdown, false
	}
}

func markRestarting(s *api.TaskState) {
	s.State = structs.TaskStatePending
	s.Restarts++
	s.LastRestart = time.Now().UTC()
}

func markDead(s *api.TaskState) {
	s.State = structs.TaskStateDead
	s.FinishedAt = time.Now().UTC()
}

func (tr *TaskRunner) killed() bool {
	select {
	case <-tr.killCh:
		return true
	default:
		return false
	}
}

func (tr *TaskRunner) hasEvent(typ string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, e := range tr.state.Events {
		if e.Type == typ {
			return true
		}
	}
	return false
}
