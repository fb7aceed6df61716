package taskrunner

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/identity"
)

// renewRetry is how soon a failed renewal is tried again.
const renewRetry = 5 * time.Second

// renewIdentities keeps the task's identities that have a ttl fresh while
// it runs: halfway through the shortest ttl it signs them again, rewrites
// their files and applies the identities' change_mode (restart over
// signal over noop; the environment of a running task cannot change). It
// returns when the runner finishes.
func (tr *TaskRunner) renewIdentities() {
	ttl, mode, signal := renewalPolicy(identity.TaskIdentities(tr.cfg.Task))
	if tr.cfg.Identities == nil || ttl <= 0 {
		return
	}
	for {
		tr.mu.Lock()
		due := tr.identitiesSigned.Add(ttl / 2)
		allocID := tr.alloc.ID
		tr.mu.Unlock()
		wait := time.Until(due)
		if !tr.isRunning() || wait < 0 {
			wait = min(renewRetry, ttl/4)
		}
		select {
		case <-time.After(wait):
		case <-tr.waitCh:
			return
		case <-tr.shutdown.Done():
			return
		}
		tr.mu.Lock()
		stillDue := !time.Now().Before(tr.identitiesSigned.Add(ttl / 2))
		tr.mu.Unlock()
		if !tr.isRunning() || !stillDue {
			continue
		}
		if err := tr.signIdentities(allocID); err != nil {
			tr.logger.Warn("renew workload identities", "error", err)
			continue
		}
		tr.applyIdentityChange(mode, signal)
	}
}

// resignIdentities gets the identities of a task this runner re-attached
// to (an earlier client process signed the ones it runs with, which this
// one does not hold), retrying while the servers cannot be reached.
func (tr *TaskRunner) resignIdentities() {
	if tr.cfg.Identities == nil {
		return
	}
	tr.mu.Lock()
	allocID := tr.alloc.ID
	tr.mu.Unlock()
	for backoff := renewRetry; ; backoff = min(2*backoff, time.Minute) {
		err := tr.signIdentities(allocID)
		if err == nil {
			return
		}
		tr.logger.Warn("sign workload identities of a re-attached task", "error", err)
		select {
		case <-time.After(backoff):
		case <-tr.waitCh:
			return
		case <-tr.shutdown.Done():
			return
		}
	}
}

// applyIdentityChange tells the task its identities were renewed.
func (tr *TaskRunner) applyIdentityChange(mode, signal string) {
	var err error
	switch mode {
	case "restart":
		tr.emit(newEvent(api.TaskRestartSignal, "Restarting: workload identity renewed"), nil)
		ctx, cancel := context.WithTimeout(tr.shutdown, tr.killTimeout()+30*time.Second)
		err = tr.Restart(ctx)
		cancel()
	case "signal":
		err = tr.cfg.Driver.SignalTask(tr.taskID, signal)
	}
	if err != nil && !errors.Is(err, ErrTaskNotRunning) {
		tr.logger.Warn("apply workload identity change_mode", "change_mode", mode, "error", err)
	}
}

// renewalPolicy is the shortest ttl of ids (0: none expires) and the
// strongest change_mode among those with a ttl.
func renewalPolicy(ids []*api.WorkloadIdentity) (ttl time.Duration, mode, signal string) {
	rank := map[string]int{"": 0, "noop": 0, "signal": 1, "restart": 2}
	for _, wid := range ids {
		if wid.TTL <= 0 {
			continue
		}
		if ttl == 0 || wid.TTL < ttl {
			ttl = wid.TTL
		}
		if rank[wid.ChangeMode] > rank[mode] {
			mode, signal = wid.ChangeMode, wid.ChangeSignal
		}
	}
	return ttl, mode, signal
}
