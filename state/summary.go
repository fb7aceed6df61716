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
	if sum.Children == nil {
		// Nomad gives every job's summary zero children counts.
		sum.Children = &api.JobChildrenSummary{}
	}
	for _, tg := range job.TaskGroups {
		if _, ok := sum.Summary[*tg.Name]; !ok {
			sum.Summary[*tg.Name] = api.TaskGroupSummary{}
		}
	}
	return tx.putSummary(sum)
}

// summaryChanges are the changes to job summaries a transaction's
// allocation writes make, by job: counting each change as it happens keeps
// a write's cost to what it touches, where a recount would cost every
// allocation of the job.
type summaryChanges map[[2]string]*summaryChange

// summaryChange is one job's change: per group, counts to add (negative to
// take away). A job that is gone has none.
type summaryChange struct {
	job    *api.Job
	groups map[string]api.TaskGroupSummary
}

// noteAllocChange records that old (nil for a new allocation) became cur.
// Allocations left by a purged job of the same ID do not count.
func (tx *writeTxn) noteAllocChange(changes summaryChanges, old, cur *api.Allocation) error {
	key := [2]string{cur.Namespace, cur.JobID}
	c, ok := changes[key]
	if !ok {
		raw, err := tx.First(tableJobs, "id", cur.Namespace, cur.JobID)
		if err != nil {
			return fmt.Errorf("job lookup: %w", err)
		}
		c = &summaryChange{groups: map[string]api.TaskGroupSummary{}}
		if raw != nil {
			c.job = raw.(*jobRow).Job
		}
		changes[key] = c
	}
	if c.job == nil {
		return nil
	}
	if old != nil && structs.AllocOfJob(old, c.job) {
		c.count(old, -1)
	}
	if structs.AllocOfJob(cur, c.job) {
		c.count(cur, 1)
	}
	return nil
}

// count adds n to the count of a's group for a's client status.
func (c *summaryChange) count(a *api.Allocation, n int) {
	g := c.groups[a.TaskGroup]
	switch a.ClientStatus {
	case "pending":
		g.Starting += n
	case "running":
		g.Running += n
	case "complete":
		g.Complete += n
	case "failed":
		g.Failed += n
	case "lost":
		g.Lost += n
	case "unknown":
		g.Unknown += n
	}
	c.groups[a.TaskGroup] = g
}

// applySummaryChange adds a job's change to its stored summary.
func (tx *writeTxn) applySummaryChange(c *summaryChange) error {
	if c.job == nil {
		return nil
	}
	sum := tx.summaryCopy(*c.job.Namespace, *c.job.ID)
	for group, d := range c.groups {
		g := sum.Summary[group]
		g.Starting += d.Starting
		g.Running += d.Running
		g.Complete += d.Complete
		g.Failed += d.Failed
		g.Lost += d.Lost
		g.Unknown += d.Unknown
		sum.Summary[group] = g
	}
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
