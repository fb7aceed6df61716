package structs

import "github.com/hashicorp/nomad/api"

// Deployment statuses, as Nomad names them.
const (
	DeploymentStatusRunning    = "running"
	DeploymentStatusPaused     = "paused"
	DeploymentStatusFailed     = "failed"
	DeploymentStatusSuccessful = "successful"
	DeploymentStatusCancelled  = "cancelled"
)

// Deployment status descriptions, as Nomad words them.
const (
	DeploymentDescRunning           = "Deployment is running"
	DeploymentDescPaused            = "Deployment is paused"
	DeploymentDescNeedsPromotion    = "Deployment is running but requires manual promotion"
	DeploymentDescSuccessful        = "Deployment completed successfully"
	DeploymentDescNewerJob          = "Cancelled due to newer version of job"
	DeploymentDescStoppedJob        = "Cancelled because job is stopped"
	DeploymentDescFailedAllocations = "Failed due to unhealthy allocations"
	DeploymentDescProgressDeadline  = "Failed due to progress deadline"
	DeploymentDescFailedByUser      = "Deployment marked as failed"
	DeploymentDescRollbackSuffix    = " - rolling back to job version %d"
	DeploymentDescNoRollbackSuffix  = " - no stable job version to auto revert to"
	EvalTriggerDeploymentWatcher    = "deployment-watcher"
)

// DeploymentActive reports whether a deployment is still in progress.
func DeploymentActive(d *api.Deployment) bool {
	return d != nil && (d.Status == DeploymentStatusRunning || d.Status == DeploymentStatusPaused)
}

// DeploymentStatusUpdate changes the status of a stored deployment.
type DeploymentStatusUpdate struct {
	DeploymentID      string
	Status            string
	StatusDescription string
}

// DeploymentUpsertRequest stores deployments (created or with new counts
// and status), the evaluations they call for and, when a deployment
// succeeded, marks its job version stable, all in one Raft entry.
type DeploymentUpsertRequest struct {
	Deployments []*api.Deployment
	Evals       []*api.Evaluation
	// StableJob, when set, names the job version to mark stable.
	StableJob *JobVersionRef
	Time      int64
}

// JobVersionRef names one version of a job.
type JobVersionRef struct {
	Namespace string
	JobID     string
	Version   uint64
}
