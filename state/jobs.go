package state

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// trackedJobVersions is how many versions of a job are kept, as in Nomad.
const trackedJobVersions = 6

// jobRow wraps a stored job with the plain fields its indexes need. In
// the versions table it also keeps the job file the version came from.
type jobRow struct {
	Namespace  string
	ID         string
	Version    uint64
	Job        *api.Job
	Submission *api.JobSubmission
}

func newJobRow(j *api.Job) *jobRow {
	return &jobRow{Namespace: *j.Namespace, ID: *j.ID, Version: *j.Version, Job: j}
}

// JobByID returns a job, or nil when there is none.
func (s *Snapshot) JobByID(namespace, id string) (*api.Job, error) {
	ch, raw, err := s.txn.FirstWatch(tableJobs, "id", namespace, id)
	if err != nil {
		return nil, fmt.Errorf("job lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*jobRow).Job, nil
}

// Jobs lists the jobs of a namespace ("*" for all) whose ID has prefix.
func (s *Snapshot) Jobs(namespace, prefix string) ([]*api.Job, error) {
	var it memdb.ResultIterator
	var err error
	if namespace == "*" {
		it, err = s.txn.Get(tableJobs, "id")
	} else {
		it, err = s.txn.Get(tableJobs, "id_prefix", namespace, prefix)
	}
	if err != nil {
		return nil, fmt.Errorf("job list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		j := raw.(*jobRow).Job
		if namespace == "*" && prefix != "" && !hasPrefix(*j.ID, prefix) {
			continue
		}
		out = append(out, j)
	}
	return out, nil
}

// JobVersions returns a job's stored versions, newest first.
func (s *Snapshot) JobVersions(namespace, id string) ([]*api.Job, error) {
	it, err := s.txn.Get(tableJobVersions, "id_prefix", namespace, id+"\x00")
	if err != nil {
		return nil, fmt.Errorf("job versions: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*jobRow).Job)
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].Version > *out[j].Version })
	return out, nil
}

// JobSubmission returns the job file a version of a job was registered
// from, or nil when none was sent.
func (s *Snapshot) JobSubmission(namespace, id string, version uint64) (*api.JobSubmission, error) {
	ch, raw, err := s.txn.FirstWatch(tableJobVersions, "id", namespace, id, version)
	if err != nil {
		return nil, fmt.Errorf("job submission lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*jobRow).Submission, nil
}

// JobByVersion returns one stored version of a job, or nil.
func (s *Snapshot) JobByVersion(namespace, id string, version uint64) (*api.Job, error) {
	ch, raw, err := s.txn.FirstWatch(tableJobVersions, "id", namespace, id, version)
	if err != nil {
		return nil, fmt.Errorf("job version lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*jobRow).Job, nil
}

// upsertJob stores a registered job. A changed specification becomes a new
// version; re-registering an identical one keeps the version.
func (tx *writeTxn) upsertJob(job *api.Job, submission *api.JobSubmission, submitTime int64) error {
	ns, id := *job.Namespace, *job.ID
	raw, err := tx.First(tableJobs, "id", ns, id)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	job.ModifyIndex = ptr(tx.index)
	job.SubmitTime = ptr(submitTime)
	if raw == nil {
		job.CreateIndex = ptr(tx.index)
		job.JobModifyIndex = ptr(tx.index)
		job.Version = ptr(uint64(0))
	} else {
		old := raw.(*jobRow).Job
		job.CreateIndex = old.CreateIndex
		if SpecChanged(old, job) {
			job.Version = ptr(*old.Version + 1)
			job.JobModifyIndex = ptr(tx.index)
		} else {
			job.Version = old.Version
			job.JobModifyIndex = old.JobModifyIndex
			job.SubmitTime = old.SubmitTime
		}
	}
	if job.Stable == nil {
		job.Stable = ptr(false)
	}
	job.Status = ptr(tx.computeJobStatus(job))
	if err := tx.insert(tableJobs, newJobRow(job)); err != nil {
		return err
	}
	versionRow := newJobRow(job)
	versionRow.Submission = submission
	if submission == nil && raw != nil {
		// An identical re-register without its file keeps the file.
		versionRow.Submission = tx.submissionOf(ns, id, *job.Version)
	}
	if err := tx.insert(tableJobVersions, versionRow); err != nil {
		return err
	}
	if err := tx.pruneJobVersions(ns, id); err != nil {
		return err
	}
	if err := tx.ensureJobSummary(job); err != nil {
		return err
	}
	return tx.refreshChildrenSummary(job)
}

// pruneJobVersions keeps the newest trackedJobVersions versions.
func (tx *writeTxn) pruneJobVersions(ns, id string) error {
	it, err := tx.Get(tableJobVersions, "id_prefix", ns, id+"\x00")
	if err != nil {
		return fmt.Errorf("job versions: %w", err)
	}
	var rows []*jobRow
	for raw := it.Next(); raw != nil; raw = it.Next() {
		rows = append(rows, raw.(*jobRow))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Version > rows[j].Version })
	for i := trackedJobVersions; i < len(rows); i++ {
		if err := tx.delete(tableJobVersions, rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// submissionOf is the job file stored with a version, or nil.
func (tx *writeTxn) submissionOf(ns, id string, version uint64) *api.JobSubmission {
	if row, _ := tx.First(tableJobVersions, "id", ns, id, version); row != nil {
		return row.(*jobRow).Submission
	}
	return nil
}

// purgedAllocDesc is why the allocations of a purged job stop, in Nomad's
// words for the allocations of a stopped job.
const purgedAllocDesc = "alloc not needed due to job update"

// purgeJob deletes a job, stops every allocation of it the server has not
// stopped yet (whatever the client says of it) and cancels its active
// deployments, which stay until garbage collection.
func (tx *writeTxn) purgeJob(job *api.Job, now int64) error {
	ns, id := *job.Namespace, *job.ID
	if err := tx.deleteJob(ns, id); err != nil {
		return err
	}
	if err := tx.deleteScalingEvents(ns, id); err != nil {
		return err
	}
	rows, err := tx.group(tableJobAllocs, ns+"\x00"+id+"\x00")
	if err != nil {
		return err
	}
	var stopped []*allocRow
	for _, row := range rows {
		if structs.AllocServerTerminal(row.Allocation) {
			continue
		}
		c := *row.Allocation
		c.DesiredStatus = structs.AllocDesiredStatusStop
		c.DesiredDescription = purgedAllocDesc
		c.ModifyIndex, c.AllocModifyIndex, c.ModifyTime = tx.index, tx.index, now
		stopped = append(stopped, row.with(&c))
	}
	for _, a := range stopped {
		if err := tx.insert(tableAllocs, a); err != nil {
			return err
		}
	}
	return tx.cancelDeploymentsOfJob(ns, id, now)
}

// deleteJob removes a job, its versions and its summary.
func (tx *writeTxn) deleteJob(ns, id string) error {
	raw, err := tx.First(tableJobs, "id", ns, id)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	if err := tx.delete(tableJobs, raw); err != nil {
		return err
	}
	if err := tx.refreshChildrenSummary(raw.(*jobRow).Job); err != nil {
		return err
	}
	if _, err := tx.DeleteAll(tableJobVersions, "id_prefix", ns, id+"\x00"); err != nil {
		return fmt.Errorf("delete job versions: %w", err)
	}
	tx.touched[tableJobVersions] = true
	if _, err := tx.DeleteAll(tableJobSummary, "id", ns, id); err != nil {
		return fmt.Errorf("delete job summary: %w", err)
	}
	tx.touched[tableJobSummary] = true
	return nil
}

// refreshJobStatus recomputes a job's status after its allocations or
// evaluations changed, storing a new copy only when it differs.
func (tx *writeTxn) refreshJobStatus(ns, id string) error {
	raw, err := tx.First(tableJobs, "id", ns, id)
	if err != nil || raw == nil {
		return err
	}
	job := raw.(*jobRow).Job
	status := tx.computeJobStatus(job)
	if job.Status != nil && *job.Status == status {
		return nil
	}
	updated := *job
	updated.Status = ptr(status)
	updated.ModifyIndex = ptr(tx.index)
	if err := tx.insert(tableJobs, newJobRow(&updated)); err != nil {
		return err
	}
	return tx.refreshChildrenSummary(&updated)
}

// computeJobStatus derives Nomad's job status: periodic and parameterized
// parents run until stopped; other jobs are running while any
// allocation is not terminal, dead once stopped (or a finished batch job),
// pending otherwise. Allocations of a purged job of the same ID do not
// count.
func (tx *writeTxn) computeJobStatus(job *api.Job) string {
	// Periodic and parameterized parents run until stopped, as in Nomad;
	// their children carry the work.
	if job.Periodic != nil || (job.ParameterizedJob != nil && !job.Dispatched) {
		if job.Stop != nil && *job.Stop {
			return structs.JobStatusDead
		}
		return structs.JobStatusRunning
	}
	rows, _ := tx.group(tableJobAllocs, *job.Namespace+"\x00"+*job.ID+"\x00")
	hasAllocs := false
	for _, row := range rows {
		a := row.Allocation
		if !structs.AllocOfJob(a, job) {
			continue // left by a purged job of the same ID
		}
		hasAllocs = true
		if !structs.AllocClientTerminal(a) {
			return structs.JobStatusRunning
		}
	}
	if job.Stop != nil && *job.Stop {
		return structs.JobStatusDead
	}
	evals, _ := tx.Get(tableEvals, "job", *job.Namespace, *job.ID)
	for raw := evals.Next(); raw != nil; raw = evals.Next() {
		e := raw.(*api.Evaluation)
		if e.Status == structs.EvalStatusPending || e.Status == structs.EvalStatusBlocked {
			return structs.JobStatusPending
		}
	}
	if hasAllocs {
		return structs.JobStatusDead
	}
	return structs.JobStatusPending
}

// SpecChanged reports whether two versions of a job differ in anything a
// user wrote, ignoring the fields the server maintains.
func SpecChanged(a, b *api.Job) bool {
	return !reflect.DeepEqual(specOf(a), specOf(b))
}

func specOf(j *api.Job) map[string]any {
	c := *j
	c.Status, c.StatusDescription = nil, nil
	c.Stable, c.Version = nil, nil
	c.SubmitTime = nil
	c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = nil, nil, nil
	buf, _ := json.Marshal(&c)
	var m map[string]any
	_ = json.Unmarshal(buf, &m)
	return m
}

func ptr[T any](v T) *T { return &v }

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }
