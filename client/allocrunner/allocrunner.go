// Package allocrunner runs one allocation on the client: it builds the
// allocation directory, runs a task runner per task, derives the
// allocation's client status from its tasks, tracks deployment health and
// stops the tasks when the servers ask.
package allocrunner

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/client/services"
	"github.com/roam-project/roam/client/state"
	"github.com/roam-project/roam/client/taskrunner"
	"github.com/roam-project/roam/client/template"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/structs"
)

// StateStore persists allocations and their tasks.
type StateStore interface {
	taskrunner.StateStore
	PutAlloc(a *api.Allocation) error
	DeleteAlloc(id string) error
}

// Config is what an alloc runner needs.
type Config struct {
	Alloc     *api.Allocation
	Node      *api.Node
	Region    string
	Drivers   map[string]drivers.Driver
	AllocRoot string
	State     StateStore
	Logger    *slog.Logger
	// OnUpdate receives the allocation's client-side state after changes.
	OnUpdate func(update *api.Allocation)
	// Restored holds task records left by an earlier client process.
	Restored map[string]*state.TaskRecord
	// Services publishes Nomad-provider services; nil publishes none.
	Services services.Registrar
	// Lookups answers templates' variable and service lookups.
	Lookups template.Source
	// TemplateSettings are the client's template block.
	TemplateSettings template.Settings
	// TaskAPI is the agent's HTTP API, served to each task on
	// secrets/api.sock; nil serves none.
	TaskAPI http.Handler
	// Identities signs the tasks' workload identities; nil gives tasks
	// none.
	Identities taskrunner.IdentitySigner
	// Network sets up bridge and none mode networks; nil refuses them.
	Network NetworkManager
	// Devices reserves the tasks' device instances.
	Devices taskrunner.DeviceReserver
	// Previous is the allocation this one replaces on this node, if the
	// client still has it: a sticky or migrating ephemeral disk is carried
	// over from it.
	Previous PreviousAlloc
}

// AllocRunner runs one allocation.
type AllocRunner struct {
	cfg      Config
	logger   *slog.Logger
	allocDir *allocdir.AllocDir
	tasks    []*taskrunner.TaskRunner
	health   *healthWatcher
	order    *lifecycle
	services *servicesHook
	network  *networkHook

	mu    sync.Mutex
	alloc *api.Allocation

	waitCh chan struct{}
}

// New returns an alloc runner for cfg.Alloc; Run starts it.
func New(cfg Config) (*AllocRunner, error) {
	alloc := cfg.Alloc
	if alloc.Job == nil {
		return nil, fmt.Errorf("alloc %s has no job", alloc.ID)
	}
	group := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if group == nil {
		return nil, fmt.Errorf("alloc %s: job has no task group %q", alloc.ID, alloc.TaskGroup)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ar := &AllocRunner{
		cfg:      cfg,
		logger:   logger.With("alloc_id", alloc.ID),
		allocDir: allocdir.New(cfg.AllocRoot, alloc.ID),
		alloc:    alloc,
		waitCh:   make(chan struct{}),
	}
	ar.order = newLifecycle(ar)
	for _, task := range group.Tasks {
		ar.tasks = append(ar.tasks, taskrunner.New(taskrunner.Config{
			Alloc: alloc, Task: task, Driver: cfg.Drivers[task.Driver], AllocDir: ar.allocDir,
			Node: cfg.Node, Region: cfg.Region, State: cfg.State, Logger: logger,
			OnStateChange: ar.taskStateChanged, Restored: cfg.Restored[task.Name],
			StartGate: ar.order.gate(task), Identities: cfg.Identities,
			Lookups: cfg.Lookups, TemplateSettings: cfg.TemplateSettings, TaskAPI: cfg.TaskAPI, Devices: cfg.Devices,
		}))
	}
	ar.network = newNetworkHook(ar, group)
	ar.health = newHealthWatcher(ar)
	ar.services = newServicesHook(ar, cfg.Services, ar.logger)
	return ar, nil
}

// ID is the allocation's ID.
func (ar *AllocRunner) ID() string { return ar.cfg.Alloc.ID }

// AllocDir is the allocation's directory.
func (ar *AllocRunner) AllocDir() *allocdir.AllocDir { return ar.allocDir }

// WaitCh is closed when every task runner has finished.
func (ar *AllocRunner) WaitCh() <-chan struct{} { return ar.waitCh }

// Alloc returns the server's latest version of the allocation.
func (ar *AllocRunner) Alloc() *api.Allocation {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.alloc
}

// Run builds the allocation directory and runs the tasks until they finish.
func (ar *AllocRunner) Run() {
	defer close(ar.waitCh)
	if err := ar.cfg.State.PutAlloc(ar.Alloc()); err != nil {
		ar.logger.Error("persist alloc", "error", err)
	}
	if err := ar.allocDir.Build(); err != nil {
		ar.logger.Error("build alloc dir", "error", err)
	}
	if group := ar.cfg.Alloc.Job.LookupTaskGroup(ar.cfg.Alloc.TaskGroup); ar.cfg.Previous != nil && len(ar.cfg.Restored) == 0 && carriesData(group) {
		if err := ar.carryOver(group); err != nil {
			ar.logger.Error("carry over the ephemeral disk", "error", err)
		}
	}
	if isStopped(ar.Alloc()) {
		ar.killAll(nil)
	}
	ar.network.prerun(ar.tasks)
	go ar.health.run()
	ar.order.update(ar.TaskStates())
	var wg sync.WaitGroup
	for _, tr := range ar.tasks {
		wg.Add(2)
		go func() { defer wg.Done(); tr.Run() }()
		go func() { defer wg.Done(); ar.watchTask(tr) }()
	}
	ar.taskStateChanged()
	wg.Wait()
	ar.health.stop()
	ar.services.close(ar.IsTerminal())
	if ar.IsTerminal() {
		ar.network.teardown()
	}
}

// watchTask kills the siblings of a task that failed, or of a dead leader.
func (ar *AllocRunner) watchTask(tr *taskrunner.TaskRunner) {
	<-tr.WaitCh()
	s := tr.State()
	if s.State != structs.TaskStateDead {
		return // client shutdown
	}
	switch {
	case s.Failed:
		ar.killAll(func(other *taskrunner.TaskRunner) *api.TaskEvent {
			return taskrunner.SiblingFailedEvent(tr.Name())
		})
	case tr.IsLeader():
		ar.killAll(func(other *taskrunner.TaskRunner) *api.TaskEvent {
			return taskrunner.LeaderDeadEvent()
		})
	}
}

// Update applies a newer version of the allocation from the servers.
func (ar *AllocRunner) Update(alloc *api.Allocation) {
	ar.mu.Lock()
	ar.alloc = alloc
	ar.mu.Unlock()
	if err := ar.cfg.State.PutAlloc(alloc); err != nil {
		ar.logger.Error("persist alloc", "error", err)
	}
	for _, tr := range ar.tasks {
		tr.Update(alloc)
	}
	ar.health.allocUpdated()
	ar.services.update()
	if isStopped(alloc) {
		ar.killAll(nil)
	}
}

func isStopped(a *api.Allocation) bool {
	return a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict
}

// killAll kills every task but the poststop ones, which run once the main
// tasks are dead; event gives each task's event (nil: Nomad's "Killing").
func (ar *AllocRunner) killAll(event func(*taskrunner.TaskRunner) *api.TaskEvent) {
	ar.killTasks(func(tr *taskrunner.TaskRunner) bool {
		phase, _ := phaseOf(tr.Task())
		return phase != phasePoststop
	}, event)
}

// killTasks kills, in the background, the tasks that match.
func (ar *AllocRunner) killTasks(match func(*taskrunner.TaskRunner) bool, event func(*taskrunner.TaskRunner) *api.TaskEvent) {
	for _, tr := range ar.tasks {
		if !match(tr) {
			continue
		}
		ev := taskrunner.KillingEvent(killTimeout(tr.Task()), "")
		if event != nil {
			ev = event(tr)
		}
		go func() {
			if err := tr.Kill(context.Background(), ev); err != nil {
				ar.logger.Error("kill task", "task", tr.Name(), "error", err)
			}
		}()
	}
}

func killTimeout(t *api.Task) time.Duration {
	if t.KillTimeout != nil && *t.KillTimeout > 0 {
		return *t.KillTimeout
	}
	return taskrunner.DefaultKillTimeout
}

// Shutdown stops the runners without touching the tasks (client restart).
func (ar *AllocRunner) Shutdown() {
	for _, tr := range ar.tasks {
		tr.Shutdown()
	}
	<-ar.waitCh
}

// Destroy kills the tasks, removes the allocation directory and forgets
// the allocation.
func (ar *AllocRunner) Destroy(ctx context.Context) error {
	ar.killTasks(func(*taskrunner.TaskRunner) bool { return true }, nil)
	select {
	case <-ar.waitCh:
	case <-ctx.Done():
		return ctx.Err()
	}
	ar.network.teardown()
	if err := ar.allocDir.Destroy(); err != nil {
		return err
	}
	return ar.cfg.State.DeleteAlloc(ar.ID())
}
