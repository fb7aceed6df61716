package allocrunner

import (
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/taskrunner"
)

// Kill stops the allocation's tasks on the client's own decision, without
// the servers asking (a client that lost contact with them for longer than
// its group allows); reason appears in each task's Killing event. Unlike
// Destroy it keeps the runner, its directory and its state, so that the
// outcome is reported to the servers.
func (ar *AllocRunner) Kill(reason string) {
	ar.killAll(func(tr *taskrunner.TaskRunner) *api.TaskEvent {
		return taskrunner.KillingEvent(killTimeout(tr.Task()), reason)
	})
}
