// Package taskrunner runs one task of an allocation through its driver:
// prestart hooks build its directory, environment and log settings, the
// driver starts it, and the restart policy decides what follows each exit.
// Every state change is persisted so a restarted client can re-attach.
package taskrunner

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/client/state"
	"github.com/roam-project/roam/client/template"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/structs"
)

// DefaultKillTimeout is used when a task sets no kill_timeout.
const DefaultKillTimeout = 5 * time.Second

// maxEvents bounds the events kept per task, as Nomad keeps the last 10.
const maxEvents = 10

// StateStore persists task records.
type StateStore interface {
	PutTask(allocID, task string, rec *state.TaskRecord) error
}

// Config is what a task runner needs.
type Config struct {
	Alloc    *api.Allocation
	Task     *api.Task
	Driver   drivers.Driver // nil when the node lacks the task's driver
	AllocDir *allocdir.AllocDir
	Node     *api.Node
	Region   string
	State    StateStore
	Logger   *slog.Logger
	// OnStateChange is called after every change of the task's state.
	OnStateChange func()
	// Restored is the record an earlier client process left, if any.
	Restored *state.TaskRecord
	// Lookups answers the templates' variable and service lookups; nil
	// when the task has no servers to ask (tests).
	Lookups template.Source
	// TemplateSettings are the client's template block.
	TemplateSettings template.Settings
	// TaskAPI is the agent's HTTP API, served to the task on
	// secrets/api.sock; nil serves none.
	TaskAPI http.Handler
	// StartGate, when set, holds the task's first start until it is
	// closed (lifecycle ordering); a kill releases it without starting.
	StartGate <-chan struct{}
	// Identities signs the task's workload identities; nil gives the
	// task none.
	Identities IdentitySigner
	// Devices reserves the task's device instances; nil on a client
	// without device plugins.
	Devices DeviceReserver
}

// TaskRunner runs one task.
type TaskRunner struct {
	cfg      Config
	taskID   string
	logger   *slog.Logger
	tracker  *restartTracker
	hooks    []prestartHook
	tmpl     *templateHook
	taskAPI  *taskAPIHook
	shutdown context.Context
	stop     context.CancelFunc

	mu       sync.Mutex
	alloc    *api.Allocation
	state    *api.TaskState
	handle   *drivers.TaskHandle
	network  *Network
	running  bool
	killOnce sync.Once
	killCh   chan struct{}

	restartCh chan restartRequest
	waitCh    chan struct{}

	// identities are the task's signed workload identities by name, from
	// the identity hook, signed at identitiesSigned.
	identities       map[string]string
	identitiesSigned time.Time
}

// New returns a task runner; Run starts it.
func New(cfg Config) *TaskRunner {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	tr := &TaskRunner{
		cfg:       cfg,
		taskID:    cfg.Alloc.ID + "/" + cfg.Task.Name,
		logger:    logger.With("alloc_id", cfg.Alloc.ID, "task", cfg.Task.Name),
		alloc:     cfg.Alloc,
		state:     &api.TaskState{State: structs.TaskStatePending},
		killCh:    make(chan struct{}),
		restartCh: make(chan restartRequest),
		waitCh:    make(chan struct{}),
	}
	tr.shutdown, tr.stop = context.WithCancel(context.Background())
	jobType := jobType(cfg.Alloc)
	tr.tracker = newRestartTracker(resolvePolicy(jobType, groupRestart(cfg.Alloc), cfg.Task.RestartPolicy), jobType)
	tr.tmpl, tr.taskAPI = &templateHook{}, &taskAPIHook{}
	tr.hooks = []prestartHook{taskDirHook{}, identityHook{}, networkHook{}, envHook{}, deviceHook{}, volumeHook{}, payloadHook{}, &artifactHook{}, tr.tmpl, tr.taskAPI, logsHook{}}
	if r := cfg.Restored; r != nil && r.State != nil {
		tr.state = r.State
		tr.handle = r.Handle
	}
	return tr
}

// Name is the task's name.
func (tr *TaskRunner) Name() string { return tr.cfg.Task.Name }

// Task is the task this runner runs.
func (tr *TaskRunner) Task() *api.Task { return tr.cfg.Task }

// IsLeader reports whether the task is its group's leader.
func (tr *TaskRunner) IsLeader() bool { return tr.cfg.Task.Leader }

// State returns a copy of the task's state.
func (tr *TaskRunner) State() *api.TaskState {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := *tr.state
	s.Events = append([]*api.TaskEvent(nil), tr.state.Events...)
	return &s
}

// WaitCh is closed when the runner has finished: the task is dead, or the
// client is shutting down.
func (tr *TaskRunner) WaitCh() <-chan struct{} { return tr.waitCh }

// Update gives the runner a newer version of its allocation; it applies
// from the next (re)start.
func (tr *TaskRunner) Update(alloc *api.Allocation) {
	tr.mu.Lock()
	tr.alloc = alloc
	tr.mu.Unlock()
}

// Shutdown stops the runner without touching the task, which keeps running
// for a later client to re-attach to.
func (tr *TaskRunner) Shutdown() {
	tr.stop()
	<-tr.waitCh
}

// emit appends an event and optionally changes the task's state, then
// persists and reports the change.
func (tr *TaskRunner) emit(ev *api.TaskEvent, mutate func(s *api.TaskState)) {
	tr.mu.Lock()
	if ev != nil {
		tr.state.Events = append(tr.state.Events, ev)
		if n := len(tr.state.Events); n > maxEvents {
			tr.state.Events = tr.state.Events[n-maxEvents:]
		}
		if ev.FailsTask {
			tr.state.Failed = true
		}
	}
	if mutate != nil {
		mutate(tr.state)
	}
	rec := &state.TaskRecord{State: tr.copyStateLocked(), Handle: tr.handle}
	tr.mu.Unlock()
	if ev != nil {
		tr.logger.Info("task event", "type", ev.Type, "msg", ev.DisplayMessage)
	}
	if tr.cfg.State != nil {
		if err := tr.cfg.State.PutTask(tr.cfg.Alloc.ID, tr.cfg.Task.Name, rec); err != nil {
			tr.logger.Error("persist task state", "error", err)
		}
	}
	if tr.cfg.OnStateChange != nil {
		tr.cfg.OnStateChange()
	}
}

func (tr *TaskRunner) copyStateLocked() *api.TaskState {
	s := *tr.state
	s.Events = append([]*api.TaskEvent(nil), tr.state.Events...)
	return &s
}

func (tr *TaskRunner) killTimeout() time.Duration {
	if kt := tr.cfg.Task.KillTimeout; kt != nil && *kt > 0 {
		return *kt
	}
	return DefaultKillTimeout
}

func jobType(a *api.Allocation) string {
	if a.Job != nil && a.Job.Type != nil {
		return *a.Job.Type
	}
	return structs.JobTypeService
}

func groupRestart(a *api.Allocation) *api.RestartPolicy {
	if a.Job == nil {
		return nil
	}
	for _, g := range a.Job.TaskGroups {
		if g.Name != nil && *g.Name == a.TaskGroup {
			return g.RestartPolicy
		}
	}
	return nil
}
