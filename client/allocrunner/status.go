package allocrunner

import (
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TaskStates returns a copy of every task's state, by task name.
func (ar *AllocRunner) TaskStates() map[string]*api.TaskState {
	out := make(map[string]*api.TaskState, len(ar.tasks))
	for _, tr := range ar.tasks {
		out[tr.Name()] = tr.State()
	}
	return out
}

// ClientUpdate is the allocation's client-side state as the servers take
// it: ID, NodeID, ClientStatus, ClientDescription, TaskStates,
// DeploymentStatus and NetworkStatus.
func (ar *AllocRunner) ClientUpdate() *api.Allocation {
	a := ar.Alloc()
	states := ar.TaskStates()
	status, desc := clientStatus(states)
	ar.mu.Lock()
	netStatus := ar.network.networkStatusLocked()
	ar.mu.Unlock()
	return &api.Allocation{
		ID: a.ID, NodeID: a.NodeID, ClientStatus: status, ClientDescription: desc,
		TaskStates: states, DeploymentStatus: ar.health.deploymentStatus(), NetworkStatus: netStatus,
	}
}

// IsTerminal reports whether every task is dead.
func (ar *AllocRunner) IsTerminal() bool {
	status, _ := clientStatus(ar.TaskStates())
	return status == structs.AllocClientStatusComplete || status == structs.AllocClientStatusFailed
}

// clientStatus derives the allocation's client status from its tasks as
// Nomad does: any failed task fails it; otherwise running beats pending,
// and all dead is complete.
func clientStatus(states map[string]*api.TaskState) (status, desc string) {
	var pending, running, dead, failed bool
	for _, s := range states {
		switch s.State {
		case structs.TaskStatePending:
			pending = true
		case structs.TaskStateRunning:
			running = true
		case structs.TaskStateDead:
			if s.Failed {
				failed = true
			} else {
				dead = true
			}
		}
	}
	switch {
	case failed:
		return structs.AllocClientStatusFailed, "Failed tasks"
	case running:
		return structs.AllocClientStatusRunning, "Tasks are running"
	case pending:
		return structs.AllocClientStatusPending, "No tasks have started"
	case dead:
		return structs.AllocClientStatusComplete, "All tasks have completed"
	default:
		return structs.AllocClientStatusPending, "No tasks have started"
	}
}

// taskStateChanged reports the new client-side state.
func (ar *AllocRunner) taskStateChanged() {
	ar.order.update(ar.TaskStates())
	ar.health.notifyChange()
	ar.services.update()
	if ar.cfg.OnUpdate != nil {
		ar.cfg.OnUpdate(ar.ClientUpdate())
	}
}
