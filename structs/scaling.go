package structs

import (
	"crypto/sha256"
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// ScalingPolicyTypeHorizontal is the type of a group's scaling block.
const ScalingPolicyTypeHorizontal = "horizontal"

// ScalingPolicies are the scaling policies of a job's groups, as
// /v1/scaling/policies lists them. A policy's ID is derived from its
// target, so that it stays the same across the job's versions; Min
// defaults to the group's count and Enabled to true, as in Nomad.
func ScalingPolicies(job *api.Job) []*api.ScalingPolicy {
	var out []*api.ScalingPolicy
	ns, id := deref(job.Namespace), deref(job.ID)
	for _, tg := range job.TaskGroups {
		if tg.Scaling == nil {
			continue
		}
		p := *tg.Scaling
		group := deref(tg.Name)
		p.ID = ScalingPolicyID(ns, id, group)
		p.Namespace = ns
		p.Target = map[string]string{"Namespace": ns, "Job": id, "Group": group}
		if p.Type == "" {
			p.Type = ScalingPolicyTypeHorizontal
		}
		if p.Enabled == nil {
			p.Enabled = new(true)
		}
		if p.Min == nil {
			p.Min = new(int64(deref(tg.Count)))
		}
		p.CreateIndex, p.ModifyIndex = deref(job.CreateIndex), deref(job.JobModifyIndex)
		out = append(out, &p)
	}
	return out
}

// ScalingPolicyID names the policy of a group: a UUID-shaped digest of
// its namespace, job and group.
func ScalingPolicyID(namespace, jobID, group string) string {
	sum := sha256.Sum256([]byte(namespace + "\x00" + jobID + "\x00" + group))
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// ScalingPolicyStub is a policy as the list shows it.
func ScalingPolicyStub(p *api.ScalingPolicy) *api.ScalingPolicyListStub {
	return &api.ScalingPolicyListStub{ID: p.ID, Enabled: deref(p.Enabled), Type: p.Type, Target: p.Target,
		CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
