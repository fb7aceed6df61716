package state

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// AllocByID returns an allocation, or nil.
func (s *Snapshot) AllocByID(id string) (*api.Allocation, error) {
	ch, raw, err := s.txn.FirstWatch(tableAllocs, "id", id)
	if err != nil {
		return nil, fmt.Errorf("alloc lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.Allocation), nil
}

// Allocs lists allocations whose ID has prefix.
func (s *Snapshot) Allocs(prefix string) ([]*api.Allocation, error) {
	return s.allocList(tableAllocs, "id_prefix", prefix)
}

// AllocsByJob lists every allocation of a job, of any version and status.
func (s *Snapshot) AllocsByJob(namespace, jobID string) ([]*api.Allocation, error) {
	return s.allocList(tableAllocs, "job", namespace, jobID)
}

// AllocsByNode lists the allocations placed on a node.
func (s *Snapshot) AllocsByNode(nodeID string) ([]*api.Allocation, error) {
	return s.allocList(tableAllocs, "node", nodeID)
}

// AllocsByEval lists the allocations an evaluation created or changed.
func (s *Snapshot) AllocsByEval(evalID string) ([]*api.Allocation, error) {
	return s.allocList(tableAllocs, "eval", evalID)
}

func (s *Snapshot) allocList(table, index string, args ...any) ([]*api.Allocation, error) {
	it, err := s.txn.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("alloc list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Allocation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.Allocation))
	}
	return out, nil
}

// upsertPlanAllocs stores allocations a plan created, updated or stopped.
// New ones get their create index; existing ones keep theirs and client
// state, since the client owns that.
func (tx *writeTxn) upsertPlanAllocs(allocs []*api.Allocation, now int64) error {
	changes := summaryChanges{}
	for _, a := range allocs {
		raw, err := tx.First(tableAllocs, "id", a.ID)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		var old *api.Allocation
		if raw == nil {
			a.CreateIndex = tx.index
			a.AllocModifyIndex = tx.index
			a.CreateTime = now
		} else {
			old = raw.(*api.Allocation)
			a.CreateIndex = old.CreateIndex
			a.CreateTime = old.CreateTime
			a.AllocModifyIndex = tx.index
			// The client's view wins, except where the plan marks the
			// alloc lost or unknown (the client is gone and cannot say
			// otherwise) or restores an unknown alloc whose node is back.
			if a.ClientStatus != "lost" && a.ClientStatus != "unknown" && (old.ClientStatus != "unknown" || a.ClientStatus == "") {
				a.ClientStatus = old.ClientStatus
				a.ClientDescription = old.ClientDescription
			}
			a.TaskStates = old.TaskStates
			if a.Job == nil {
				a.Job = old.Job
			}
		}
		a.ModifyIndex = tx.index
		a.ModifyTime = now
		if err := tx.insert(tableAllocs, a); err != nil {
			return err
		}
		if err := tx.noteAllocChange(changes, old, a); err != nil {
			return err
		}
	}
	if err := tx.deleteServicesOfTerminalAllocs(allocs); err != nil {
		return err
	}
	return tx.afterAllocChange(changes)
}

// updateAllocsFromClient merges what a client reports (status, task
// states, deployment health) into the stored allocations. Unknown IDs are
// skipped: the alloc may have been garbage collected meanwhile.
func (tx *writeTxn) updateAllocsFromClient(updates []*api.Allocation, now int64) error {
	changes := summaryChanges{}
	for _, u := range updates {
		raw, err := tx.First(tableAllocs, "id", u.ID)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		old := raw.(*api.Allocation)
		a := *old
		a.ClientStatus = u.ClientStatus
		a.ClientDescription = u.ClientDescription
		a.TaskStates = u.TaskStates
		if u.DeploymentStatus != nil {
			// The canary mark is the scheduler's, not the client's.
			status := *u.DeploymentStatus
			status.Canary = isCanaryAlloc(&a)
			a.DeploymentStatus = &status
		}
		if u.NetworkStatus != nil {
			a.NetworkStatus = u.NetworkStatus
		}
		a.ModifyIndex = tx.index
		a.ModifyTime = now
		if err := tx.insert(tableAllocs, &a); err != nil {
			return err
		}
		if err := tx.noteAllocChange(changes, old, &a); err != nil {
			return err
		}
	}
	if err := tx.deleteServicesOfTerminalAllocs(updates); err != nil {
		return err
	}
	return tx.afterAllocChange(changes)
}

// updateAllocDesiredTransition records a migrate/reschedule request.
func (tx *writeTxn) updateAllocDesiredTransition(ids []string, t api.DesiredTransition) error {
	for _, id := range ids {
		raw, err := tx.First(tableAllocs, "id", id)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		old := raw.(*api.Allocation)
		a := *old
		a.DesiredTransition = t
		a.ModifyIndex = tx.index
		if err := tx.insert(tableAllocs, &a); err != nil {
			return err
		}
	}
	return nil
}

// afterAllocChange applies the summary changes and refreshes the statuses
// of the touched jobs.
func (tx *writeTxn) afterAllocChange(changes summaryChanges) error {
	for key, c := range changes {
		if err := tx.applySummaryChange(c); err != nil {
			return err
		}
		if err := tx.refreshJobStatus(key[0], key[1]); err != nil {
			return err
		}
	}
	return nil
}

// deleteAllocs removes allocations by ID.
func (tx *writeTxn) deleteAllocs(ids []string) error {
	for _, id := range ids {
		if _, err := tx.DeleteAll(tableAllocs, "id", id); err != nil {
			return fmt.Errorf("delete alloc %s: %w", id, err)
		}
	}
	tx.touched[tableAllocs] = true
	return tx.deleteServicesOfAllocs(ids)
}
