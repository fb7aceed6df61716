package state

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// AllocByID returns an allocation in full (its placement metric
// included), or nil.
func (s *Snapshot) AllocByID(id string) (*api.Allocation, error) {
	raw, err := lookupAlloc(s.txn, s.ws, id)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, nil
	}
	return raw.full()
}

// AllocByIDWithoutMetric returns an allocation without its placement
// metric (which it does not decode), its tasks' events included, or nil:
// for readers such as clients that never look at the metric.
func (s *Snapshot) AllocByIDWithoutMetric(id string) (*api.Allocation, error) {
	raw, err := lookupAlloc(s.txn, s.ws, id)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, nil
	}
	return raw.withTaskEvents()
}

// AllocByIDAsListed returns an allocation as lists give it, without its
// placement metric and its tasks' events (which it does not decode), or
// nil: for the server's own readers, which look at neither.
func (s *Snapshot) AllocByIDAsListed(id string) (*api.Allocation, error) {
	raw, err := lookupAlloc(s.txn, s.ws, id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.Allocation, nil
}

// WithMetrics returns allocs, read from a list, in full: each with its
// placement metric and its tasks' events, which lists leave out.
func (s *Snapshot) WithMetrics(allocs []*api.Allocation) ([]*api.Allocation, error) {
	return s.completeListed(allocs, (*allocRow).full)
}

// WithTaskEvents returns allocs, read from a list, with their tasks'
// events (which lists leave out) but without their placement metric: as
// API lists and clients show them.
func (s *Snapshot) WithTaskEvents(allocs []*api.Allocation) ([]*api.Allocation, error) {
	return s.completeListed(allocs, (*allocRow).withTaskEvents)
}

// completeListed returns allocs, read from a list, as form gives each
// stored one.
func (s *Snapshot) completeListed(allocs []*api.Allocation, form func(*allocRow) (*api.Allocation, error)) ([]*api.Allocation, error) {
	out := make([]*api.Allocation, 0, len(allocs))
	for _, a := range allocs {
		raw, err := lookupAlloc(s.txn, nil, a.ID)
		if err != nil {
			return nil, err
		}
		if raw == nil || raw.Allocation != a {
			// Not (or no longer) the stored version: as it is.
			out = append(out, a)
			continue
		}
		complete, err := form(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, complete)
	}
	return out, nil
}

// The list reads below return allocations without their placement metric
// (Metrics nil), as Nomad's allocation lists do, and without their tasks'
// events (each TaskState's Events nil), which Nomad's lists show:
// WithTaskEvents adds those, AllocByID and WithMetrics give both.

// Allocs lists allocations whose ID has prefix.
func (s *Snapshot) Allocs(prefix string) ([]*api.Allocation, error) {
	if len(prefix) >= allocBucketLen {
		// In one bucket.
		rows, err := readGroup(s.txn, s.ws, tableAllocs, prefix[:allocBucketLen])
		if err != nil {
			return nil, err
		}
		i, _ := slices.BinarySearchFunc(rows, prefix, compareRowID)
		var out []*api.Allocation
		for _, r := range rows[i:] {
			if !strings.HasPrefix(r.ID, prefix) {
				break
			}
			out = append(out, r.Allocation)
		}
		return out, nil
	}
	it, err := s.txn.Get(tableAllocs, "id_prefix", prefix)
	if err != nil {
		return nil, fmt.Errorf("alloc list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Allocation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		for _, r := range raw.(*allocGroup).Allocs {
			out = append(out, r.Allocation)
		}
	}
	return out, nil
}

// AllocsByJob lists every allocation of a job, of any version and status.
func (s *Snapshot) AllocsByJob(namespace, jobID string) ([]*api.Allocation, error) {
	return s.groupList(tableJobAllocs, namespace+"\x00"+jobID+"\x00")
}

// AllocsByNode lists the allocations placed on a node.
func (s *Snapshot) AllocsByNode(nodeID string) ([]*api.Allocation, error) {
	return s.groupList(tableNodeAllocs, nodeID+"\x00")
}

// groupList lists the allocations of a group (see allocGroup).
func (s *Snapshot) groupList(table, key string) ([]*api.Allocation, error) {
	rows, err := readGroup(s.txn, s.ws, table, key)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	out := make([]*api.Allocation, len(rows))
	for i, r := range rows {
		out[i] = r.Allocation
	}
	return out, nil
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

// upsertPlanAllocs stores allocations a plan created, updated or stopped.
// New ones get their create index; existing ones keep theirs and client
// state, since the client owns that.
func (tx *writeTxn) upsertPlanAllocs(allocs []*api.Allocation, now int64) error {
	changes := summaryChanges{}
	for _, a := range allocs {
		raw, err := tx.allocByID(a.ID)
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
			oldRow = raw
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
		raw, err := tx.allocByID(a.PreviousAllocation)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil || raw.NextAllocation != "" {
			continue
		}
		oldRow := raw
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
		raw, err := tx.allocByID(u.ID)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		oldRow := raw
		old := oldRow.Allocation
		a := *old
		a.ClientStatus = tx.allocs.intern(u.ClientStatus)
		a.ClientDescription = tx.allocs.intern(u.ClientDescription)
		a.TaskStates = u.TaskStates
		tx.allocs.compactTaskStates(a.TaskStates)
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
		row, err := newAllocRow(&a, oldRow)
		if err != nil {
			return err
		}
		if err := tx.insert(tableAllocs, row); err != nil {
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
		raw, err := tx.allocByID(id)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		old := raw
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
		raw, err := tx.allocByID(id)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		if err := tx.delete(tableAllocs, raw); err != nil {
			return fmt.Errorf("delete alloc %s: %w", id, err)
		}
		tx.allocChanges = append(tx.allocChanges, allocChange{NodeAllocChange: NodeAllocChange{ID: id, Index: tx.index, Removed: true}, NodeID: raw.NodeID})
	}
	tx.touched[tableAllocs] = true
	return tx.deleteServicesOfAllocs(ids)
}
