package state

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// EvalByID returns an evaluation, or nil.
func (s *Snapshot) EvalByID(id string) (*api.Evaluation, error) {
	ch, raw, err := s.txn.FirstWatch(tableEvals, "id", id)
	if err != nil {
		return nil, fmt.Errorf("eval lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.Evaluation), nil
}

// Evals lists evaluations whose ID has prefix.
func (s *Snapshot) Evals(prefix string) ([]*api.Evaluation, error) {
	return s.evalList("id_prefix", prefix)
}

// EvalsByJob lists a job's evaluations.
func (s *Snapshot) EvalsByJob(namespace, jobID string) ([]*api.Evaluation, error) {
	return s.evalList("job", namespace, jobID)
}

func (s *Snapshot) evalList(index string, args ...any) ([]*api.Evaluation, error) {
	it, err := s.txn.Get(tableEvals, index, args...)
	if err != nil {
		return nil, fmt.Errorf("eval list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Evaluation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.Evaluation))
	}
	return out, nil
}

// upsertEvals stores evaluations; queued allocation counts flow into the
// job summary, and the job's status follows its pending evaluations.
func (tx *writeTxn) upsertEvals(evals []*api.Evaluation, now int64) error {
	jobs := map[[2]string]bool{}
	for _, e := range evals {
		raw, err := tx.First(tableEvals, "id", e.ID)
		if err != nil {
			return fmt.Errorf("eval lookup: %w", err)
		}
		if raw == nil {
			e.CreateIndex = tx.index
			e.CreateTime = now
		} else {
			old := raw.(*api.Evaluation)
			e.CreateIndex = old.CreateIndex
			e.CreateTime = old.CreateTime
		}
		e.ModifyIndex = tx.index
		e.ModifyTime = now
		if err := tx.insert(tableEvals, e); err != nil {
			return err
		}
		if e.QueuedAllocations != nil {
			if err := tx.setQueued(e.Namespace, e.JobID, e.QueuedAllocations); err != nil {
				return err
			}
		}
		jobs[[2]string{e.Namespace, e.JobID}] = true
	}
	for key := range jobs {
		if err := tx.refreshJobStatus(key[0], key[1]); err != nil {
			return err
		}
	}
	return nil
}

// deleteEvals removes evaluations by ID.
func (tx *writeTxn) deleteEvals(ids []string) error {
	for _, id := range ids {
		if _, err := tx.DeleteAll(tableEvals, "id", id); err != nil {
			return fmt.Errorf("delete eval %s: %w", id, err)
		}
	}
	tx.touched[tableEvals] = true
	return nil
}
