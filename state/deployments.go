package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableDeployments holds *api.Deployment by ID.
const tableDeployments = "deployments"

func deploymentsTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableDeployments, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"job": {Name: "job", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"},
			&memdb.StringFieldIndex{Field: "JobID"},
		}}},
	}}
}

// DeploymentByID returns a deployment, or nil.
func (s *Snapshot) DeploymentByID(id string) (*api.Deployment, error) {
	ch, raw, err := s.txn.FirstWatch(tableDeployments, "id", id)
	if err != nil {
		return nil, fmt.Errorf("deployment lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.Deployment), nil
}

// Deployments lists deployments whose ID has prefix, newest first.
func (s *Snapshot) Deployments(prefix string) ([]*api.Deployment, error) {
	return s.deploymentList("id_prefix", prefix)
}

// DeploymentsByJob lists a job's deployments, newest first.
func (s *Snapshot) DeploymentsByJob(namespace, jobID string) ([]*api.Deployment, error) {
	return s.deploymentList("job", namespace, jobID)
}

// LatestDeploymentByJob returns the job's newest deployment, or nil.
func (s *Snapshot) LatestDeploymentByJob(namespace, jobID string) (*api.Deployment, error) {
	all, err := s.DeploymentsByJob(namespace, jobID)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return all[0], nil
}

func (s *Snapshot) deploymentList(index string, args ...any) ([]*api.Deployment, error) {
	it, err := s.txn.Get(tableDeployments, index, args...)
	if err != nil {
		return nil, fmt.Errorf("deployment list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.Deployment
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.Deployment))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreateIndex > out[j].CreateIndex })
	return out, nil
}

// DeploymentUpsert stores deployments and their evaluations, and marks a
// job version stable, at index.
func (s *Store) DeploymentUpsert(index uint64, req *structs.DeploymentUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, d := range req.Deployments {
			if err := tx.upsertDeployment(d, req.Time); err != nil {
				return err
			}
		}
		if ref := req.StableJob; ref != nil {
			if err := tx.markJobStable(ref.Namespace, ref.JobID, ref.Version); err != nil {
				return err
			}
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// upsertDeployment stores d, keeping the create index and time of the
// stored one with its ID.
func (tx *writeTxn) upsertDeployment(d *api.Deployment, now int64) error {
	raw, err := tx.First(tableDeployments, "id", d.ID)
	if err != nil {
		return fmt.Errorf("deployment lookup: %w", err)
	}
	if raw == nil {
		d.CreateIndex = tx.index
		d.CreateTime = now
	} else {
		old := raw.(*api.Deployment)
		d.CreateIndex, d.CreateTime = old.CreateIndex, old.CreateTime
	}
	d.ModifyIndex = tx.index
	d.ModifyTime = now
	return tx.insert(tableDeployments, d)
}

// updateDeploymentStatus changes a stored deployment's status; unknown
// IDs are an error.
func (tx *writeTxn) updateDeploymentStatus(u *structs.DeploymentStatusUpdate, now int64) error {
	raw, err := tx.First(tableDeployments, "id", u.DeploymentID)
	if err != nil {
		return fmt.Errorf("deployment lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("deployment %q: %w", u.DeploymentID, ErrNotFound)
	}
	d := *raw.(*api.Deployment)
	d.Status, d.StatusDescription = u.Status, u.StatusDescription
	return tx.upsertDeployment(&d, now)
}

// markJobStable sets Stable on one stored version of a job, and on the
// current job when it is that version.
func (tx *writeTxn) markJobStable(ns, id string, version uint64) error {
	raw, err := tx.First(tableJobVersions, "id", ns, id, version)
	if err != nil {
		return fmt.Errorf("job version lookup: %w", err)
	}
	if raw == nil {
		return nil // pruned meanwhile: nothing to mark
	}
	row := *raw.(*jobRow)
	stable := *row.Job
	stable.Stable = ptr(true)
	row.Job = &stable
	if err := tx.insert(tableJobVersions, &row); err != nil {
		return err
	}
	raw, err = tx.First(tableJobs, "id", ns, id)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if raw != nil && *raw.(*jobRow).Job.Version == version {
		// The current job keeps its own status, which moved on since the
		// version was stored.
		current := *raw.(*jobRow).Job
		current.Stable = ptr(true)
		return tx.insert(tableJobs, newJobRow(&current))
	}
	return nil
}

// deleteDeploymentsOfJob removes a purged job's deployments.
func (tx *writeTxn) deleteDeploymentsOfJob(ns, id string) error {
	it, err := tx.Get(tableDeployments, "job", ns, id)
	if err != nil {
		return fmt.Errorf("deployment list: %w", err)
	}
	var doomed []any
	for raw := it.Next(); raw != nil; raw = it.Next() {
		doomed = append(doomed, raw)
	}
	for _, d := range doomed {
		if err := tx.delete(tableDeployments, d); err != nil {
			return err
		}
	}
	return nil
}

// isCanaryAlloc reports whether the scheduler placed a as a canary.
func isCanaryAlloc(a *api.Allocation) bool {
	return a.DeploymentStatus != nil && a.DeploymentStatus.Canary
}
