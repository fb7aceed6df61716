package state

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// AllocByID returns an allocation in full (its placement metric
// included), or nil.
func (s *Snapshot) AllocByID(id string) (*api.Allocation, error) {
	ch, raw, err := s.txn.FirstWatch(tableAllocs, "id", id)
	if err != nil {
		return nil, fmt.Errorf("alloc lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*allocRow).full()
}

// AllocByIDWithoutMetric returns an allocation as lists give it, without
// its placement metric (which it does not decode), or nil: for readers
// such as clients that never look at the metric.
func (s *Snapshot) AllocByIDWithoutMetric(id string) (*api.Allocation, error) {
	ch, raw, err := s.txn.FirstWatch(tableAllocs, "id", id)
	if err != nil {
		return nil, fmt.Errorf("alloc lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*allocRow).Allocation, nil
}

// WithMetrics returns allocs, read from a list, in full: each with its
// placement metric, which lists leave out.
func (s *Snapshot) WithMetrics(allocs []*api.Allocation) ([]*api.Allocation, error) {
	out := make([]*api.Allocation, 0, len(allocs))
	for _, a := range allocs {
		raw, err := s.txn.First(tableAllocs, "id", a.ID)
		if err != nil {
			return nil, fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil || raw.(*allocRow).Allocation != a {
			// Not (or no longer) the stored version: as it is.
			out = append(out, a)
			continue
		}
		full, err := raw.(*allocRow).full()
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// The list reads below return allocations without their placement metric
// (Metrics nil), as Nomad's allocation lists do; AllocByID and WithMetrics
// give it.

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

// AllocsByEval lists the allocations an evaluation created or changed
// (and no later evaluation changed since): those of its job that name it.
// An allocation's evaluation is always one of its job, so the job's
// allocations are all there is to look at; no index of its own is kept.
func (s *Snapshot) AllocsByEval(evalID string) ([]*api.Allocation, error) {
	eval, err := s.EvalByID(evalID)
	if err != nil || eval == nil {
		return nil, err
	}
	allocs, err := s.AllocsByJob(eval.Namespace, eval.JobID)
	if err != nil {
		return nil, err
	}
	var out []*api.Allocation
	for _, a := range allocs {
		if a.EvalID == evalID {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *Snapshot) allocList(table, index string, args ...any) ([]*api.Allocation, error) {
	it, err := s.txn.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("alloc list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Allocation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*allocRow).Allocation)
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
		var oldRow *allocRow
		if raw == nil {
			a.CreateIndex = tx.index
			a.AllocModifyIndex = tx.index
			a.CreateTime = now
		} else {
			oldRow = raw.(*allocRow)
			old = oldRow.Allocation
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
			if a.NextAllocation == "" {
				a.NextAllocation = old.NextAllocation
			}
		}
		a.ModifyIndex = tx.index
		a.ModifyTime = now
		tx.allocs.compact(a, old)
		row, err := newAllocRow(a, oldRow)
		if err != nil {
			return err
		}
		if err := tx.insert(tableAllocs, row); err != nil {
			return err
		}
		if err := tx.noteAllocChange(changes, old, a); err != nil {
			return err
		}
	}
	if err := tx.linkReplacements(allocs); err != nil {
		return err
	}
	if err := tx.deleteServicesOfTerminalAllocs(allocs); err != nil {
		return err
	}
	return tx.afterAllocChange(changes)
}

// linkReplacements records, on each allocation that one of allocs replaces,
// the ID of its replacement (NextAllocation), as Nomad does: `alloc status`
// shows it as "Replacement Alloc ID".
func (tx *writeTxn) linkReplacements(allocs []*api.Allocation) error {
	for _, a := range allocs {
		if a.PreviousAllocation == "" || a.CreateIndex != tx.index {
			continue
		}
		raw, err := tx.First(tableAllocs, "id", a.PreviousAllocation)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil || raw.(*allocRow).NextAllocation != "" {
			continue
		}
		oldRow := raw.(*allocRow)
		prev := *oldRow.Allocation
		prev.NextAllocation = a.ID
		prev.ModifyIndex = tx.index
		row, err := newAllocRow(&prev, oldRow)
		if err != nil {
			return err
		}
		if err := tx.insert(tableAllocs, row); err != nil {
			return err
		}
	}
	return nil
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
		oldRow := raw.(*allocRow)
		old := oldRow.Allocation
		a := *old
		a.ClientStatus = intern(u.ClientStatus)
		a.ClientDescription = intern(u.ClientDescription)
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
		if err := tx.insert(tableAllocs, oldRow.with(&a)); err != nil {
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
		old := raw.(*allocRow)
		a := *old.Allocation
		a.DesiredTransition = t
		a.ModifyIndex = tx.index
		if err := tx.insert(tableAllocs, old.with(&a)); err != nil {
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
		raw, err := tx.First(tableAllocs, "id", id)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		if err := tx.delete(tableAllocs, raw); err != nil {
			return fmt.Errorf("delete alloc %s: %w", id, err)
		}
		row := raw.(*allocRow)
		tx.allocChanges = append(tx.allocChanges, allocChange{NodeAllocChange: NodeAllocChange{ID: id, Index: tx.index, Removed: true}, NodeID: row.NodeID})
	}
	tx.touched[tableAllocs] = true
	return tx.deleteServicesOfAllocs(ids)
}
