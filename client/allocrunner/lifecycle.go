package allocrunner

import (
	"sync"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/taskrunner"
	"github.com/roam-project/roam/structs"
)

// Task lifecycle phases; "main" is a task without a lifecycle block.
const (
	phasePrestart  = api.TaskLifecycleHookPrestart
	phaseMain      = "main"
	phasePoststart = api.TaskLifecycleHookPoststart
	phasePoststop  = api.TaskLifecycleHookPoststop
)

func phaseOf(t *api.Task) (phase string, sidecar bool) {
	if t.Lifecycle == nil || t.Lifecycle.Hook == "" {
		return phaseMain, false
	}
	return t.Lifecycle.Hook, t.Lifecycle.Sidecar
}

// lifecycle orders a group's tasks as Nomad's lifecycle block does:
// prestart tasks first (main tasks wait for the ephemeral ones to complete
// and the sidecars to run), poststart tasks once the main tasks run,
// poststop tasks once the main tasks are dead; sidecars are stopped when
// the main tasks are dead.
type lifecycle struct {
	ar    *AllocRunner
	gates map[string]chan struct{} // by phase
	once  map[string]*sync.Once
	mu    sync.Mutex
	done  bool // sidecars stopped
}

func newLifecycle(ar *AllocRunner) *lifecycle {
	l := &lifecycle{ar: ar, gates: map[string]chan struct{}{}, once: map[string]*sync.Once{}}
	for _, p := range []string{phaseMain, phasePoststart, phasePoststop} {
		l.gates[p] = make(chan struct{})
		l.once[p] = &sync.Once{}
	}
	return l
}

// gate returns the channel that holds a task's first start (nil: none).
func (l *lifecycle) gate(t *api.Task) <-chan struct{} {
	phase, _ := phaseOf(t)
	return l.gates[phase]
}

func (l *lifecycle) open(phase string) {
	l.once[phase].Do(func() { close(l.gates[phase]) })
}

// update re-evaluates the gates after a task state change.
func (l *lifecycle) update(states map[string]*api.TaskState) {
	prestartReady, mainRunning, mainDead := true, true, true
	for _, tr := range l.ar.tasks {
		s := states[tr.Name()]
		phase, sidecar := phaseOf(tr.Task())
		switch phase {
		case phasePrestart:
			if sidecar {
				prestartReady = prestartReady && s.State != structs.TaskStatePending
			} else {
				prestartReady = prestartReady && s.State == structs.TaskStateDead && !s.Failed
			}
		case phaseMain:
			mainRunning = mainRunning && s.State != structs.TaskStatePending
			mainDead = mainDead && s.State == structs.TaskStateDead
		}
	}
	if prestartReady {
		l.open(phaseMain)
		if mainRunning {
			l.open(phasePoststart)
		}
	}
	if mainDead {
		l.open(phasePoststop)
		l.stopSidecars()
	}
}

// stopSidecars kills the prestart and poststart tasks still running once
// the main tasks are dead.
func (l *lifecycle) stopSidecars() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done = true
	l.ar.killTasks(func(tr *taskrunner.TaskRunner) bool {
		phase, _ := phaseOf(tr.Task())
		return phase == phasePrestart || phase == phasePoststart
	}, nil)
}
