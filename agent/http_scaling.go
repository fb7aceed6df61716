package agent

import (
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// scalingPolicies serves /v1/scaling/policies: the scaling policies of the
// jobs of ?namespace ("*": all), narrowed by ?job and ?type.
func (h *httpAPI) scalingPolicies(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	jobFilter, typeFilter := r.URL.Query().Get("job"), r.URL.Query().Get("type")
	allowed := callerACL(r)
	out := []*api.ScalingPolicyListStub{}
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		jobs, err := snap.Jobs(opts.namespace, "")
		out = out[:0]
		for _, j := range jobs {
			if (jobFilter != "" && *j.ID != jobFilter) || !scalingReadable(allowed, *j.Namespace) {
				continue
			}
			for _, p := range structs.ScalingPolicies(j) {
				if typeFilter == "" || strings.HasPrefix(p.Type, typeFilter) {
					out = append(out, structs.ScalingPolicyStub(p))
				}
			}
		}
		return snap.Index("jobs"), err
	})
	return page(w, r, out, err, func(p *api.ScalingPolicyListStub) string { return p.ID })
}

// scalingPolicy serves /v1/scaling/policy/<id>.
func (h *httpAPI) scalingPolicy(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/scaling/policy/")
	var policy *api.ScalingPolicy
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		policy, err = findScalingPolicy(snap, id)
		return snap.Index("jobs"), err
	})
	if err != nil {
		return nil, err
	}
	if policy == nil {
		return nil, codedError(http.StatusNotFound, "scaling policy not found")
	}
	return policy, nil
}

// findScalingPolicy looks a policy up by ID among every job's.
func findScalingPolicy(snap *state.Snapshot, id string) (*api.ScalingPolicy, error) {
	if id == "" {
		return nil, nil
	}
	jobs, err := snap.Jobs("*", "")
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		for _, p := range structs.ScalingPolicies(j) {
			if p.ID == id {
				return p, nil
			}
		}
	}
	return nil, nil
}

// scalingReadable: listing a namespace's policies needs
// list-scaling-policies, or read-job, as in Nomad.
func scalingReadable(a *acl.ACL, ns string) bool {
	return a.AllowNamespaceOperation(ns, acl.NamespaceCapabilityListScalingPolicies) ||
		a.AllowNamespaceOperation(ns, acl.NamespaceCapabilityReadJob)
}

// scalingPolicyNamespace finds /v1/scaling/policy/<id>'s namespace.
func scalingPolicyNamespace(snap *state.Snapshot, r *http.Request) string {
	p, err := findScalingPolicy(snap, strings.TrimPrefix(r.URL.Path, "/v1/scaling/policy/"))
	if err != nil || p == nil {
		return ""
	}
	return p.Namespace
}

// scaleStatus reports each group's desired count and how many of its
// allocations are placed, running, healthy and unhealthy.
func scaleStatus(job *api.Job, allocs []*api.Allocation) *api.JobScaleStatusResponse {
	out := &api.JobScaleStatusResponse{
		JobID: *job.ID, Namespace: *job.Namespace, JobCreateIndex: *job.CreateIndex,
		JobModifyIndex: *job.JobModifyIndex, JobStopped: *job.Stop,
		TaskGroups: map[string]api.TaskGroupScaleStatus{},
	}
	counts := map[string]*api.TaskGroupScaleStatus{}
	for _, tg := range job.TaskGroups {
		counts[*tg.Name] = &api.TaskGroupScaleStatus{Desired: *tg.Count}
	}
	for _, a := range allocs {
		c := counts[a.TaskGroup]
		if c == nil || !structs.AllocOfJob(a, job) || a.DesiredStatus != structs.AllocDesiredStatusRun || structs.AllocClientTerminal(a) {
			continue
		}
		c.Placed++
		if a.ClientStatus == structs.AllocClientStatusRunning {
			c.Running++
		}
		if hs := a.DeploymentStatus; hs != nil && hs.Healthy != nil {
			if *hs.Healthy {
				c.Healthy++
			} else {
				c.Unhealthy++
			}
		}
	}
	for name, c := range counts {
		out.TaskGroups[name] = *c
	}
	return out
}
