package allocrunner

import (
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// Defaults of the `update` block's health settings.
const (
	defaultMinHealthyTime  = 10 * time.Second
	defaultHealthyDeadline = 5 * time.Minute
)

// healthWatcher decides whether an allocation that belongs to a deployment
// is healthy: all tasks running for min_healthy_time before
// healthy_deadline, and none failed. Without service checks, "checks" is
// judged on task states too.
type healthWatcher struct {
	ar     *AllocRunner
	notify chan struct{}
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	results map[string]*api.AllocDeploymentStatus // by deployment ID
}

func newHealthWatcher(ar *AllocRunner) *healthWatcher {
	return &healthWatcher{
		ar: ar, notify: make(chan struct{}, 1), done: make(chan struct{}),
		results: make(map[string]*api.AllocDeploymentStatus),
	}
}

func (h *healthWatcher) notifyChange() {
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

func (h *healthWatcher) allocUpdated() { h.notifyChange() }

func (h *healthWatcher) stop() { h.once.Do(func() { close(h.done) }) }

// deploymentStatus is the health to report for the current deployment, or
// nil while undecided.
func (h *healthWatcher) deploymentStatus() *api.AllocDeploymentStatus {
	a := h.ar.Alloc()
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.results[a.DeploymentID]
	if !ok || a.DeploymentID == "" {
		return nil
	}
	out := *r
	if a.DeploymentStatus != nil {
		out.Canary = a.DeploymentStatus.Canary
	}
	return &out
}

// tracking tells whether the allocation's health is still to be decided,
// with the update strategy's timings.
func (h *healthWatcher) tracking(a *api.Allocation) (minHealthy, deadline time.Duration, ok bool) {
	if a.DeploymentID == "" || a.Job == nil {
		return 0, 0, false
	}
	if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
		return 0, 0, false
	}
	h.mu.Lock()
	_, decided := h.results[a.DeploymentID]
	h.mu.Unlock()
	if decided {
		return 0, 0, false
	}
	u := a.Job.Update
	if g := a.Job.LookupTaskGroup(a.TaskGroup); g != nil && g.Update != nil {
		u = g.Update
	}
	minHealthy, deadline = defaultMinHealthyTime, defaultHealthyDeadline
	if u != nil {
		if u.HealthCheck != nil && *u.HealthCheck == "manual" {
			return 0, 0, false
		}
		if u.MinHealthyTime != nil {
			minHealthy = *u.MinHealthyTime
		}
		if u.HealthyDeadline != nil && *u.HealthyDeadline > 0 {
			deadline = *u.HealthyDeadline
		}
	}
	return minHealthy, deadline, true
}

func (h *healthWatcher) set(deploymentID string, healthy bool) {
	h.mu.Lock()
	h.results[deploymentID] = &api.AllocDeploymentStatus{Healthy: &healthy, Timestamp: time.Now().UTC()}
	h.mu.Unlock()
	h.ar.logger.Info("alloc health decided", "deployment_id", deploymentID, "healthy", healthy)
	if h.ar.cfg.OnUpdate != nil {
		h.ar.cfg.OnUpdate(h.ar.ClientUpdate())
	}
}

// run watches task states until stopped.
func (h *healthWatcher) run() {
	var tracked string
	var deadline, healthy *time.Timer
	var restartsAtStart uint64
	stopTimer := func(t **time.Timer) {
		if *t != nil {
			(*t).Stop()
			*t = nil
		}
	}
	defer stopTimer(&deadline)
	defer stopTimer(&healthy)
	for {
		a := h.ar.Alloc()
		minHealthy, limit, ok := h.tracking(a)
		if !ok || a.DeploymentID != tracked {
			stopTimer(&deadline)
			stopTimer(&healthy)
			tracked = ""
		}
		if ok {
			if tracked == "" {
				tracked, deadline = a.DeploymentID, time.NewTimer(limit)
			}
			failed, allRunning, restarts := h.summarize(h.ar.TaskStates())
			switch {
			case failed:
				h.set(tracked, false)
				continue
			case !allRunning || restarts != restartsAtStart:
				stopTimer(&healthy)
				restartsAtStart = restarts
				if allRunning {
					healthy = time.NewTimer(minHealthy)
				}
			case healthy == nil:
				healthy = time.NewTimer(minHealthy)
			}
		}
		select {
		case <-h.notify:
		case <-timerC(healthy):
			h.set(tracked, true)
		case <-timerC(deadline):
			h.set(tracked, false)
		case <-h.done:
			return
		}
	}
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// summarize judges the tasks that count for health: main tasks and
// sidecars must run, ephemeral prestart tasks must have completed, and
// other lifecycle tasks are ignored.
func (h *healthWatcher) summarize(states map[string]*api.TaskState) (failed, allRunning bool, restarts uint64) {
	allRunning = len(states) > 0
	for _, tr := range h.ar.tasks {
		s := states[tr.Name()]
		failed = failed || s.Failed
		restarts += s.Restarts
		phase, sidecar := phaseOf(tr.Task())
		switch {
		case phase == phaseMain || sidecar:
			allRunning = allRunning && s.State == structs.TaskStateRunning
		case phase == phasePrestart:
			allRunning = allRunning && s.State == structs.TaskStateDead
		}
	}
	return failed, allRunning, restarts
}
