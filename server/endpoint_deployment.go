package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// FailDeployment marks an active deployment failed, as `deployment fail`
// asks, rolling the job back when its update strategy says auto_revert.
func (s *Server) FailDeployment(id string) (*api.DeploymentUpdateResponse, error) {
	snap, d, err := s.activeDeployment(id)
	if err != nil {
		return nil, err
	}
	return s.failDeployment(snap, d, structs.DeploymentDescFailedByUser)
}

// PauseDeployment pauses a running deployment or resumes a paused one;
// resuming asks the scheduler for the next batch.
func (s *Server) PauseDeployment(id string, pause bool) (*api.DeploymentUpdateResponse, error) {
	snap, d, err := s.activeDeployment(id)
	if err != nil {
		return nil, err
	}
	next := *d
	next.Status, next.StatusDescription = structs.DeploymentStatusRunning, structs.DeploymentDescRunning
	if pause {
		next.Status, next.StatusDescription = structs.DeploymentStatusPaused, structs.DeploymentDescPaused
	}
	req := &structs.DeploymentUpsertRequest{Deployments: []*api.Deployment{&next}, Time: time.Now().UnixNano()}
	if !pause {
		if err := s.addDeploymentEval(snap, req, d); err != nil {
			return nil, err
		}
	}
	return s.commitDeployment(req)
}

// activeDeployment reads a deployment that is still running or paused.
func (s *Server) activeDeployment(id string) (*state.Snapshot, *api.Deployment, error) {
	if !s.IsLeader() {
		return nil, nil, errNotLeader
	}
	snap := s.State().Snapshot()
	d, err := snap.DeploymentByID(id)
	if err != nil {
		return nil, nil, err
	}
	if d == nil {
		return nil, nil, fmt.Errorf("deployment %q: %w", id, ErrNotFound)
	}
	if !structs.DeploymentActive(d) {
		return nil, nil, fmt.Errorf("%w: can't change deployment %s: deployment is %s", ErrInvalid, id, d.Status)
	}
	return snap, d, nil
}

// failDeployment commits d as failed for reason desc. With auto_revert in
// any of its groups, the job's latest stable version is registered again.
func (s *Server) failDeployment(snap *state.Snapshot, d *api.Deployment, desc string) (*api.DeploymentUpdateResponse, error) {
	failed := *d
	failed.Status = structs.DeploymentStatusFailed
	var revert *api.Job
	if autoRevert(d) {
		var err error
		if revert, err = stableVersionBefore(snap, d); err != nil {
			return nil, err
		}
		if revert != nil {
			desc += fmt.Sprintf(structs.DeploymentDescRollbackSuffix, derefU64(revert.Version))
		} else {
			desc += structs.DeploymentDescNoRollbackSuffix
		}
	}
	failed.StatusDescription = desc
	req := &structs.DeploymentUpsertRequest{Deployments: []*api.Deployment{&failed}, Time: time.Now().UnixNano()}
	if revert == nil {
		if err := s.addDeploymentEval(snap, req, d); err != nil {
			return nil, err
		}
	}
	resp, err := s.commitDeployment(req)
	if err == nil {
		s.multiregionDeploymentEnded(snap, d, false, desc)
	}
	if err != nil || revert == nil {
		return resp, err
	}
	version := derefU64(revert.Version)
	reply, err := s.RevertJob("", d.Namespace, d.JobID, version, &d.JobVersion)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: auto revert to version %d: %w", d.ID, version, err)
	}
	resp.EvalID, resp.EvalCreateIndex, resp.RevertedJobVersion = reply.EvalID, reply.EvalCreateIndex, &version
	return resp, nil
}

// addDeploymentEval adds an evaluation of the deployment's job to req.
func (s *Server) addDeploymentEval(snap *state.Snapshot, req *structs.DeploymentUpsertRequest, d *api.Deployment) error {
	job, err := snap.JobByID(d.Namespace, d.JobID)
	if err != nil {
		return err
	}
	if job != nil && !derefBool(job.Stop) {
		req.Evals = append(req.Evals, deploymentEval(job, d.ID))
	}
	return nil
}

// commitDeployment applies req through Raft and answers as Nomad does.
func (s *Server) commitDeployment(req *structs.DeploymentUpsertRequest) (*api.DeploymentUpdateResponse, error) {
	index, err := s.raftApply(structs.DeploymentUpsertRequestType, req)
	if err != nil {
		return nil, err
	}
	resp := &api.DeploymentUpdateResponse{DeploymentModifyIndex: index}
	if len(req.Evals) > 0 {
		resp.EvalID, resp.EvalCreateIndex = req.Evals[0].ID, index
	}
	resp.LastIndex = index
	return resp, nil
}

func autoRevert(d *api.Deployment) bool {
	for _, st := range d.TaskGroups {
		if st.AutoRevert {
			return true
		}
	}
	return false
}

// stableVersionBefore is the newest stable version of d's job older than
// the version d deploys, when the job still runs that version.
func stableVersionBefore(snap *state.Snapshot, d *api.Deployment) (*api.Job, error) {
	current, err := snap.JobByID(d.Namespace, d.JobID)
	if err != nil || current == nil || derefU64(current.Version) != d.JobVersion {
		return nil, err
	}
	versions, err := snap.JobVersions(d.Namespace, d.JobID)
	if err != nil {
		return nil, err
	}
	var best *api.Job
	for _, v := range versions {
		if derefBool(v.Stable) && derefU64(v.Version) < d.JobVersion && (best == nil || derefU64(v.Version) > derefU64(best.Version)) {
			best = v
		}
	}
	return best, nil
}

func derefBool(p *bool) bool { return p != nil && *p }
