package state

import (
	"time"

	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// ErrNotFound is returned when a write names an object that does not exist.
var ErrNotFound = errors.New("not found")

// JobRegister stores a job version and its evaluation at index.
func (s *Store) JobRegister(index uint64, req *structs.JobRegisterRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		if err := tx.requireNamespace(*req.Job.Namespace, fmt.Sprintf("job %q", *req.Job.ID)); err != nil {
			return err
		}
		if err := tx.upsertJob(req.Job, req.Submission, req.Time); err != nil {
			return err
		}
		if req.Eval != nil {
			return tx.upsertEvals([]*api.Evaluation{req.Eval}, req.Time)
		}
		return nil
	})
}

// JobDeregister stops a job (a new version with Stop set) or purges it.
// A purge also stops every allocation of the job and cancels its active
// deployments in the same write, so that nothing of the purged job runs on
// or counts for a job registered later with the same ID, whichever order
// the evaluations run in.
func (s *Store) JobDeregister(index uint64, req *structs.JobDeregisterRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		raw, err := tx.First(tableJobs, "id", req.Namespace, req.JobID)
		if err != nil {
			return fmt.Errorf("job lookup: %w", err)
		}
		if raw == nil {
			return fmt.Errorf("job %q: %w", req.JobID, ErrNotFound)
		}
		if req.Purge {
			if err := tx.purgeJob(raw.(*jobRow).Job, req.Time); err != nil {
				return err
			}
		} else {
			current := raw.(*jobRow).Job
			stopped := *current
			stopped.Stop = ptr(true)
			// The stopped version comes from the same file.
			file := tx.submissionOf(req.Namespace, req.JobID, *current.Version)
			if err := tx.upsertJob(&stopped, file, req.Time); err != nil {
				return err
			}
		}
		if req.Eval != nil {
			return tx.upsertEvals([]*api.Evaluation{req.Eval}, req.Time)
		}
		return nil
	})
}

// EvalUpdate creates or updates evaluations.
func (s *Store) EvalUpdate(index uint64, req *structs.EvalUpdateRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// ApplyPlanResults commits a plan's allocations.
func (s *Store) ApplyPlanResults(index uint64, req *structs.ApplyPlanResultsRequest) error {
	return s.write(index, func(tx *writeTxn) error { return tx.applyPlanResults(req) })
}

// ApplyPlanResultsBatch commits several plans' allocations in one
// transaction, in order: all of them or, on an error, none.
func (s *Store) ApplyPlanResultsBatch(index uint64, req *structs.ApplyPlanResultsBatchRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, plan := range req.Plans {
			if err := tx.applyPlanResults(plan); err != nil {
				return fmt.Errorf("plan of eval %s: %w", plan.EvalID, err)
			}
		}
		return nil
	})
}

func (tx *writeTxn) applyPlanResults(req *structs.ApplyPlanResultsRequest) error {
	job := req.Job
	if job != nil {
		job = sharedJob(tx.Txn, job)
	}
	for _, a := range req.Allocs {
		if a.Job == nil || a.Job == req.Job {
			a.Job = job
		}
	}
	if req.Deployment != nil {
		if err := tx.upsertDeployment(req.Deployment, req.Time); err != nil {
			return err
		}
	}
	for _, u := range req.DeploymentUpdates {
		if err := tx.updateDeploymentStatus(u, req.Time); err != nil {
			return err
		}
	}
	all := append(append([]*api.Allocation{}, req.Allocs...), req.Stopped...)
	return tx.upsertPlanAllocs(all, req.Time)
}

// AllocClientUpdate merges client-reported allocation state.
func (s *Store) AllocClientUpdate(index uint64, req *structs.AllocClientUpdateRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		if err := tx.updateAllocsFromClient(req.Allocs, req.Time); err != nil {
			return err
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// AllocDesiredTransition marks allocations for migration or rescheduling.
func (s *Store) AllocDesiredTransition(index uint64, req *structs.AllocDesiredTransitionRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		if err := tx.updateAllocDesiredTransition(req.AllocIDs, req.Transition); err != nil {
			return err
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// NodeRegister registers a node.
func (s *Store) NodeRegister(index uint64, req *structs.NodeRegisterRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		if err := tx.ensureNodePool(structs.NodePoolOf(req.Node)); err != nil {
			return err
		}
		if err := tx.upsertNode(req.Node); err != nil {
			return err
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// NodeStatusUpdate changes a node's status.
func (s *Store) NodeStatusUpdate(index uint64, req *structs.NodeStatusUpdateRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		err := tx.updateNode(req.NodeID, func(n *api.Node) {
			n.Status = req.Status
			n.StatusUpdatedAt = req.Time / 1e9
			if req.Event != nil {
				n.Events = appendNodeEvent(n.Events, req.Event, tx.index)
			}
		})
		if err != nil {
			return err
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// NodeEligibility changes a node's scheduling eligibility.
func (s *Store) NodeEligibility(index uint64, req *structs.NodeEligibilityRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		err := tx.updateNode(req.NodeID, func(n *api.Node) { n.SchedulingEligibility = req.Eligibility })
		if err != nil {
			return err
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// NodeDrain sets or clears a node's drain strategy; draining makes the
// node ineligible.
func (s *Store) NodeDrain(index uint64, req *structs.NodeDrainRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		err := tx.updateNode(req.NodeID, func(n *api.Node) {
			n.LastDrain = lastDrain(n, req)
			n.DrainStrategy = req.DrainStrategy
			n.Drain = req.DrainStrategy != nil
			if n.Drain {
				n.SchedulingEligibility = structs.NodeSchedulingIneligible
			} else if req.MarkEligible {
				n.SchedulingEligibility = structs.NodeSchedulingEligible
			}
		})
		if err != nil {
			return err
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// lastDrain is the node's LastDrain after req: a new drain starts it, an
// update keeps its start, and the end of a drain records how it ended.
func lastDrain(n *api.Node, req *structs.NodeDrainRequest) *api.DrainMetadata {
	now := time.Unix(0, req.Time).UTC()
	switch {
	case req.DrainStrategy != nil && n.DrainStrategy != nil && n.LastDrain != nil:
		d := *n.LastDrain
		d.UpdatedAt = now
		if req.Meta != nil {
			d.Meta = req.Meta
		}
		return &d
	case req.DrainStrategy != nil:
		return &api.DrainMetadata{StartedAt: req.DrainStrategy.StartedAt, UpdatedAt: now,
			Status: api.DrainStatusDraining, Meta: req.Meta}
	case n.DrainStrategy != nil && n.LastDrain != nil:
		d := *n.LastDrain
		d.UpdatedAt = now
		d.Status = api.DrainStatusCanceled
		if req.Complete {
			d.Status = api.DrainStatusComplete
		}
		return &d
	}
	return n.LastDrain
}

// GC deletes what the garbage collector found expired.
func (s *Store) GC(index uint64, req *structs.GCRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, j := range req.Jobs {
			if err := tx.deleteJob(j.Namespace, j.ID); err != nil {
				return err
			}
			if err := tx.deleteDeploymentsOfJob(j.Namespace, j.ID); err != nil {
				return err
			}
		}
		if err := tx.deleteDeployments(req.DeploymentIDs); err != nil {
			return err
		}
		if err := tx.deleteEvals(req.EvalIDs); err != nil {
			return err
		}
		if err := tx.deleteAllocs(req.AllocIDs); err != nil {
			return err
		}
		if err := tx.deleteNodes(req.NodeIDs); err != nil {
			return err
		}
		return tx.upsertEvals(req.Evals, req.Time)
	})
}

// maxNodeEvents is how many events a node keeps, as in Nomad.
const maxNodeEvents = 10

func appendNodeEvent(events []*api.NodeEvent, e *api.NodeEvent, index uint64) []*api.NodeEvent {
	e.CreateIndex = index
	out := append(append([]*api.NodeEvent{}, events...), e)
	if len(out) > maxNodeEvents {
		out = out[len(out)-maxNodeEvents:]
	}
	return out
}
