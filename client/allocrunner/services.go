package allocrunner

import (
	"bytes"
	"context"
	"log/slog"
	"sync"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/services"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/structs"
)

// servicesHook publishes the allocation's Nomad-provider services and runs
// their checks (http, tcp, grpc, script), restarting tasks per
// check_restart: the group's while any task runs, each task's
// while that task runs, none once the allocation is told to stop. A
// service with checks is published only while they all pass, so that
// lookups (templates, DNS) find only healthy instances.
type servicesHook struct {
	ar        *AllocRunner
	publisher *services.Publisher
	checker   *services.Checker
	// mu orders updates, so that the last one sees the newest task states.
	mu sync.Mutex
}

// newServicesHook returns nil when the runner has no registrar (tests
// without servers); a nil hook does nothing.
func newServicesHook(ar *AllocRunner, registrar services.Registrar, logger *slog.Logger) *servicesHook {
	if registrar == nil {
		return nil
	}
	logger = logger.With("component", "services")
	h := &servicesHook{ar: ar, publisher: services.NewPublisher(registrar, logger)}
	h.checker = services.NewChecker(logger, services.CheckerHooks{OnChange: h.update, Exec: ar.execCheck, Restart: ar.restartUnhealthy})
	return h
}

// update recomputes the wanted registrations and checks from the tasks'
// states.
func (h *servicesHook) update() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var want services.Set
	if alloc := h.ar.Alloc(); !isStopped(alloc) {
		want = h.wanted(alloc, h.ar.TaskStates())
	}
	h.checker.SetChecks(want.Checks)
	h.publisher.SetDesired(h.checker.Passing(want.Registrations, want.Checks))
}

// wanted builds the services of the running tasks and, when any task
// runs, of the group.
func (h *servicesHook) wanted(alloc *api.Allocation, states map[string]*api.TaskState) services.Set {
	src := services.Source{Alloc: alloc, Node: h.ar.cfg.Node, Region: h.ar.cfg.Region, AllocDir: h.ar.allocDir}
	h.ar.mu.Lock()
	if s := h.ar.network.status; s != nil {
		src.AllocAddress, src.ClusterAddress = s.Address, s.Cluster
	}
	h.ar.mu.Unlock()
	var want services.Set
	add := func(set services.Set, err error, owner string) {
		if err != nil {
			h.ar.logger.Warn("services not registered", "owner", owner, "error", err)
			return
		}
		want.Registrations = append(want.Registrations, set.Registrations...)
		want.Checks = append(want.Checks, set.Checks...)
	}
	anyRunning := false
	for _, tr := range h.ar.tasks {
		if s := states[tr.Name()]; s == nil || s.State != structs.TaskStateRunning {
			continue
		}
		anyRunning = true
		set, err := services.TaskRegistrations(src, tr.Task())
		add(set, err, "task "+tr.Name())
	}
	if anyRunning {
		set, err := services.GroupRegistrations(src)
		add(set, err, "group")
	}
	return want
}

// close stops the checks and publishing; withdraw deletes what was
// published.
func (h *servicesHook) close(withdraw bool) {
	if h != nil {
		h.checker.Close()
		h.publisher.Close(withdraw)
	}
}

// CheckStatuses returns the latest results of the allocation's Nomad
// service checks, by check ID, as `/v1/client/allocation/<id>/checks`
// serves them.
func (ar *AllocRunner) CheckStatuses() api.AllocCheckStatuses {
	if ar.services == nil {
		return api.AllocCheckStatuses{}
	}
	return ar.services.checker.Statuses()
}

// execCheck runs a script check's command inside a task.
func (ar *AllocRunner) execCheck(ctx context.Context, task string, cmd []string) (int, []byte, error) {
	var out bytes.Buffer
	code, err := ar.Exec(ctx, task, cmd, false, drivers.ExecStreams{Stdout: &out, Stderr: &out})
	return code, out.Bytes(), err
}

// restartUnhealthy restarts a task whose check failed check_restart's
// limit in a row.
func (ar *AllocRunner) restartUnhealthy(task, reason string) {
	tr, err := ar.taskRunner(task)
	if err != nil {
		ar.logger.Warn("check_restart", "task", task, "error", err)
		return
	}
	ar.logger.Info("restarting unhealthy task", "task", task, "reason", reason)
	if err := tr.RestartBecause(context.Background(), reason); err != nil {
		ar.logger.Warn("check_restart", "task", task, "error", err)
	}
}
