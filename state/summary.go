package state

import (
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// summaryRow is a stored job summary, keyed by plain fields.
type summaryRow struct {
	Namespace string
	JobID     string
	Summary   *api.JobSummary
}

// JobSummary returns a job's summary, or nil.
func (s *Snapshot) JobSummary(namespace, jobID string) (*api.JobSummary, error) {
	ch, raw, err := s.txn.FirstWatch(tableJobSummary, "id", namespace, jobID)
	if err != nil {
		return nil, fmt.Errorf("job summary lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*summaryRow).Summary, nil
}

// ensureJobSummary creates a summary for a new job and adds rows for new
// groups, keeping the counts it already has.
func (tx *writeTxn) ensureJobSummary(job *api.Job) error {
	ns, id := *job.Namespace, *job.ID
	sum := tx.summaryCopy(ns, id)
	if sum.Children == nil && (job.Periodic != nil || job.ParameterizedJob != nil) {
		sum.Children = &api.JobChildrenSummary{}
	}
	for _, tg := range job.TaskGroups {
		if _, ok := sum.Summary[*tg.Name]; !ok {
			sum.Summary[*tg.Name] = api.TaskGroupSummary{}
		}
	}
	return tx.putSummary(sum)
}

// refreshJobSummary recounts a job's allocations by client status. A
// purged job has no summary, and the allocations it left do not count for
// a job registered later with its ID.
func (tx *writeTxn) refreshJobSummary(ns, jobID string) error {
	raw, err := tx.First(tableJobs, "id", ns, jobID)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	job := raw.(*jobRow).Job
	sum := tx.summaryCopy(ns, jobID)
	counts := map[string]api.TaskGroupSummary{}
	for group, s := range sum.Summary {
		counts[group] = api.TaskGroupSummary{Queued: s.Queued}
	}
	it, err := tx.Get(tableAllocs, "job", ns, jobID)
	if err != nil {
		return fmt.Errorf("alloc list: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*api.Allocation)
		if !structs.AllocOfJob(a, job) {
			continue
		}
		c := counts[a.TaskGroup]
		switch a.ClientStatus {
		case "pending":
			c.Starting++
		case "running":
			c.Running++
		case "complete":
			c.Complete++
		case "failed":
			c.Failed++
		case "lost":
			c.Lost++
		case "unknown":
			c.Unknown++
		}
		counts[a.TaskGroup] = c
	}
	sum.Summary = counts
	return tx.putSummary(sum)
}

// refreshChildrenSummary recounts, by status, the children of the parent
// of a job that was just stored or deleted (periodic launches and
// dispatched instances). A job with no parent, or whose parent is gone,
// changes nothing. Children's IDs start with "<parent>/", as Nomad names
// them.
func (tx *writeTxn) refreshChildrenSummary(child *api.Job) error {
	if child.ParentID == nil || *child.ParentID == "" {
		return nil
	}
	ns, parent := *child.Namespace, *child.ParentID
	if raw, err := tx.First(tableJobSummary, "id", ns, parent); err != nil || raw == nil {
		return err
	}
	it, err := tx.Get(tableJobs, "id_prefix", ns, parent+"/")
	if err != nil {
		return fmt.Errorf("child job list: %w", err)
	}
	counts := &api.JobChildrenSummary{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		j := raw.(*jobRow).Job
		if j.ParentID == nil || *j.ParentID != parent || j.Status == nil {
			continue
		}
		switch *j.Status {
		case structs.JobStatusPending:
			counts.Pending++
		case structs.JobStatusRunning:
			counts.Running++
		case structs.JobStatusDead:
			counts.Dead++
		}
	}
	sum := tx.summaryCopy(ns, parent)
	sum.Children = counts
	return tx.putSummary(sum)
}

// setQueued records how many allocations of each group await placement.
func (tx *writeTxn) setQueued(ns, jobID string, queued map[string]int) error {
	if raw, _ := tx.First(tableJobs, "id", ns, jobID); raw == nil {
		return nil
	}
	sum := tx.summaryCopy(ns, jobID)
	for group, n := range queued {
		c := sum.Summary[group]
		c.Queued = n
		sum.Summary[group] = c
	}
	return tx.putSummary(sum)
}

// summaryCopy returns a writable copy of a job's summary, new if absent.
func (tx *writeTxn) summaryCopy(ns, jobID string) *api.JobSummary {
	out := &api.JobSummary{JobID: jobID, Namespace: ns, Summary: map[string]api.TaskGroupSummary{}, CreateIndex: tx.index}
	raw, _ := tx.First(tableJobSummary, "id", ns, jobID)
	if raw != nil {
		old := raw.(*summaryRow).Summary
		out.CreateIndex = old.CreateIndex
		out.Children = old.Children
		for k, v := range old.Summary {
			out.Summary[k] = v
		}
	}
	return out
}

func (tx *writeTxn) putSummary(sum *api.JobSummary) error {
	sum.ModifyIndex = tx.index
	return tx.insert(tableJobSummary, &summaryRow{Namespace: sum.Namespace, JobID: sum.JobID, Summary: sum})
}
