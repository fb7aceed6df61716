package scheduler

import (
	"slices"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestCanaries covers canary deployments: each case runs a first version
// of a service job (count 4), moves to a second version with canary = 2
// and max_parallel = 2, changes the world and checks the last plan.
func TestCanaries(t *testing.T) {
	canaries := []string{"roll.web[0]", "roll.web[1]"}
	cases := []struct {
		name   string
		change func(h *harness, next *api.Job) *api.Job
		check  func(t *testing.T, h *harness, p *structs.Plan)
	}{
		{
			name:   "version change places canaries and keeps old allocs",
			change: func(h *harness, next *api.Job) *api.Job { return next },
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				placed := planAllocs(p)
				wantNames(t, placed, canaries...)
				if slices.ContainsFunc(placed, func(a *api.Allocation) bool { return !isCanary(a) }) {
					t.Errorf("placements not marked canary")
				}
				wantNames(t, planStops(p))
				d := p.Deployment
				if d == nil || d.TaskGroups["web"].DesiredCanaries != 2 {
					t.Fatalf("deployment = %+v", d)
				}
				if u := p.Annotations.DesiredTGUpdates["web"]; u.Canary != 2 || u.DestructiveUpdate != 0 || u.Ignore != 4 {
					t.Errorf("annotations = %+v", u)
				}
			},
		},
		{
			name: "healthy canaries wait for promotion",
			change: func(h *harness, next *api.Job) *api.Job {
				h.runJob(next)
				h.setHealth(next, true, canaries...)
				return next
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				if len(planAllocs(p)) != 0 || len(planStops(p)) != 0 {
					t.Errorf("placed %v, stopped %v", namesOf(planAllocs(p)), namesOf(planStops(p)))
				}
			},
		},
		{
			name: "promotion retires replaced allocs and rolls the rest",
			change: func(h *harness, next *api.Job) *api.Job {
				h.runJob(next)
				h.setHealth(next, true, canaries...)
				h.promote(next)
				return next
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				wantNames(t, planAllocs(p), "roll.web[2]", "roll.web[3]")
				stops := planStops(p)
				wantNames(t, stops, "roll.web[0]", "roll.web[1]", "roll.web[2]", "roll.web[3]")
				if slices.ContainsFunc(stops, isCanary) {
					t.Errorf("promotion stopped a canary")
				}
			},
		},
		{
			name: "failed deployment stops the canaries",
			change: func(h *harness, next *api.Job) *api.Job {
				h.runJob(next)
				h.setHealth(next, false, "roll.web[0]")
				h.finishDeployment(next, structs.DeploymentStatusFailed)
				return next
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				stops := planStops(p)
				wantNames(t, stops, canaries...)
				if !slices.ContainsFunc(stops, isCanary) || len(planAllocs(p)) != 0 {
					t.Errorf("stopped %v, placed %v", namesOf(stops), namesOf(planAllocs(p)))
				}
			},
		},
		{
			name: "newer version replaces the canaries",
			change: func(h *harness, next *api.Job) *api.Job {
				h.runJob(next)
				return nextVersion(next, func(j *api.Job) { j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/false" })
			},
			check: func(t *testing.T, h *harness, p *structs.Plan) {
				stops := planStops(p)
				wantNames(t, stops, canaries...)
				wantNames(t, planAllocs(p), canaries...)
				if len(p.DeploymentUpdates) != 1 || p.Deployment == nil || slices.ContainsFunc(stops, func(a *api.Allocation) bool { return !isCanary(a) }) {
					t.Errorf("updates %v, deployment %+v", p.DeploymentUpdates, p.Deployment)
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
			h.finishDeployment(job, structs.DeploymentStatusSuccessful)
			h.setHealth(job, true, "roll.web[0]", "roll.web[1]", "roll.web[2]", "roll.web[3]")
			next := nextVersion(job, func(j *api.Job) {
				j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true"
				j.TaskGroups[0].Update.MaxParallel = new(2)
				j.TaskGroups[0].Update.Canary = new(2)
			})
			h.runJob(tc.change(h, next))
			tc.check(t, h, h.lastPlan())
		})
	}
}

// promote marks every group of the job's latest deployment promoted.
func (h *harness) promote(job *api.Job) {
	key := jobKey(deref(job.Namespace), deref(job.ID))
	d := *h.state.deployments[key]
	groups := make(map[string]*api.DeploymentState, len(d.TaskGroups))
	for name, st := range d.TaskGroups {
		c := *st
		c.Promoted = true
		groups[name] = &c
	}
	d.TaskGroups = groups
	h.state.deployments[key] = &d
}
