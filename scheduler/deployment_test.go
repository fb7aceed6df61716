package scheduler

import (
	"slices"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestDeployments covers rolling updates: each case runs a first version
// of a service job (count 4), changes the world, evaluates the returned
// job and checks the plan.
func TestDeployments(t *testing.T) {
	v2 := func(h *harness, job *api.Job, maxParallel int) *api.Job {
		h.finishDeployment(job, structs.DeploymentStatusSuccessful)
		h.setHealth(job, true, "roll.web[0]", "roll.web[1]", "roll.web[2]", "roll.web[3]")
		return nextVersion(job, func(j *api.Job) {
			j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true"
			j.TaskGroups[0].Update.MaxParallel = new(maxParallel)
		})
	}
	cases := []struct {
		name   string
		change func(h *harness, job *api.Job) *api.Job
		check  func(t *testing.T, h *harness, p *structs.Plan)
	}{
		{
			name:   "initial registration places all under a new deployment",
			change: func(h *harness, job *api.Job) *api.Job { return nil },
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				d := p.Deployment
				if d == nil || d.Status != structs.DeploymentStatusRunning || d.TaskGroups["web"].DesiredTotal != 4 {
					t.Fatalf("deployment = %+v", d)
				}
				placed := planAllocs(p)
				if len(placed) != 4 || slices.ContainsFunc(placed, func(a *api.Allocation) bool { return a.DeploymentID != d.ID }) {
					t.Errorf("placed %d allocs, deployment IDs %v", len(placed), deploymentIDs(placed))
				}
			},
		},
		{
			name:   "destructive update starts max_parallel replacements",
			change: func(h *harness, job *api.Job) *api.Job { return v2(h, job, 2) },
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				wantNames(t, planAllocs(p), "roll.web[0]", "roll.web[1]")
				wantNames(t, planStops(p), "roll.web[0]", "roll.web[1]")
				if d := p.Deployment; d == nil || d.JobVersion != 1 || len(p.DeploymentUpdates) != 0 {
					t.Errorf("deployment = %+v, updates %v", d, p.DeploymentUpdates)
				}
			},
		},
		{
			name: "healthy replacements free the next batch",
			change: func(h *harness, job *api.Job) *api.Job {
				next := v2(h, job, 2)
				h.runJob(next) // the first batch
				h.setHealth(next, true, "roll.web[0]", "roll.web[1]")
				return next
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				wantNames(t, planAllocs(p), "roll.web[2]", "roll.web[3]")
				if p.Deployment != nil {
					t.Errorf("second batch created deployment %+v", p.Deployment)
				}
			},
		},
		{
			name: "replacements not yet healthy hold the batch",
			change: func(h *harness, job *api.Job) *api.Job {
				next := v2(h, job, 2)
				h.runJob(next) // the first batch
				h.setHealth(next, true, "roll.web[0]")
				return next
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				wantNames(t, planAllocs(p), "roll.web[2]")
			},
		},
		{
			name: "failed deployment starts no more updates",
			change: func(h *harness, job *api.Job) *api.Job {
				next := v2(h, job, 2)
				h.runJob(next) // the first batch
				h.setHealth(next, false, "roll.web[0]")
				h.finishDeployment(next, structs.DeploymentStatusFailed)
				return next
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				if placed := planAllocs(p); len(placed) != 0 {
					t.Errorf("placed %v", namesOf(placed))
				}
			},
		},
		{
			name: "newer version cancels the running deployment",
			change: func(h *harness, job *api.Job) *api.Job {
				return nextVersion(job, func(j *api.Job) { j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true" })
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				first := h.plans[0].Deployment
				want := &structs.DeploymentStatusUpdate{DeploymentID: first.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: structs.DeploymentDescNewerJob}
				if len(p.DeploymentUpdates) != 1 || *p.DeploymentUpdates[0] != *want {
					t.Errorf("updates = %v, want %+v", p.DeploymentUpdates, want)
				}
				if p.Deployment == nil || p.Deployment.ID == first.ID {
					t.Errorf("deployment = %+v", p.Deployment)
				}
			},
		},
		{
			name: "job stop cancels the running deployment",
			change: func(h *harness, job *api.Job) *api.Job {
				j := cloneJob(job)
				j.Stop = new(true)
				return j
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				if len(p.DeploymentUpdates) != 1 || p.DeploymentUpdates[0].StatusDescription != structs.DeploymentDescStoppedJob || p.Deployment != nil {
					t.Errorf("updates = %v, deployment %+v", p.DeploymentUpdates, p.Deployment)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.state.upsertNodes(makeNodes(4, nodeSpec{})...)
			job := testJob("roll", "service", 4)
			h.runJob(job)
			next := tc.change(h, job)
			if next != nil {
				h.runJob(next)
			}
			tc.check(t, h, h.lastPlan())
		})
	}
}

// setHealth records the client's health verdict on the named running
// allocations of job.
func (h *harness) setHealth(job *api.Job, healthy bool, names ...string) {
	for _, a := range h.runningAllocs(job) {
		if slices.Contains(names, a.Name) && a.Job == job {
			updated := *a
			updated.ClientStatus = structs.AllocClientStatusRunning
			updated.DeploymentStatus = &api.AllocDeploymentStatus{Healthy: new(healthy), Canary: isCanary(a)}
			h.state.upsertAllocs(&updated)
		}
	}
}

// finishDeployment sets the status of the job's latest deployment.
func (h *harness) finishDeployment(job *api.Job, status string) {
	key := jobKey(deref(job.Namespace), deref(job.ID))
	d := *h.state.deployments[key]
	d.Status = status
	h.state.deployments[key] = &d
}

func deploymentIDs(allocs []*api.Allocation) []string {
	var out []string
	for _, a := range allocs {
		out = append(out, a.DeploymentID)
	}
	return out
}

// TestDeploymentBeforeAnyNode: a service job registered before any client
// gets its deployment at once, as in Nomad; the allocations placed once
// nodes arrive join it.
func TestDeploymentBeforeAnyNode(t *testing.T) {
	h := newHarness(t)
	job := testJob("early", "service", 2)
	h.runJob(job)
	d := h.lastPlan().Deployment
	if d == nil || d.Status != structs.DeploymentStatusRunning || len(planAllocs(h.lastPlan())) != 0 {
		t.Fatalf("plan without nodes: deployment %+v, %d placed", d, len(planAllocs(h.lastPlan())))
	}
	h.state.upsertNodes(makeNodes(2, nodeSpec{})...)
	h.runJob(job)
	p := h.lastPlan()
	placed := planAllocs(p)
	if p.Deployment != nil || len(placed) != 2 || slices.ContainsFunc(placed, func(a *api.Allocation) bool { return a.DeploymentID != d.ID }) {
		t.Fatalf("plan once nodes arrived: new deployment %+v, placed %d under %v, want the first deployment %s", p.Deployment, len(placed), deploymentIDs(placed), d.ID)
	}
}
