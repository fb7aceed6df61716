package structs

import "github.com/hashicorp/nomad/api"

// JobStub is a job's entry in list responses (GET /v1/jobs).
func JobStub(j *api.Job, summary *api.JobSummary) *api.JobListStub {
	s := &api.JobListStub{
		ID:                valueOf(j.ID),
		ParentID:          valueOf(j.ParentID),
		Name:              valueOf(j.Name),
		Namespace:         valueOf(j.Namespace),
		Datacenters:       j.Datacenters,
		Type:              valueOf(j.Type),
		Priority:          valueOf(j.Priority),
		Periodic:          j.Periodic != nil,
		ParameterizedJob:  j.ParameterizedJob != nil,
		Stop:              valueOf(j.Stop),
		Status:            valueOf(j.Status),
		StatusDescription: valueOf(j.StatusDescription),
		JobSummary:        summary,
		CreateIndex:       valueOf(j.CreateIndex),
		ModifyIndex:       valueOf(j.ModifyIndex),
		JobModifyIndex:    valueOf(j.JobModifyIndex),
		SubmitTime:        valueOf(j.SubmitTime),
		Meta:              j.Meta,
	}
	return s
}

// AllocStub is an allocation's entry in list responses.
func AllocStub(a *api.Allocation) *api.AllocationListStub {
	s := &api.AllocationListStub{
		ID:                    a.ID,
		EvalID:                a.EvalID,
		Name:                  a.Name,
		Namespace:             a.Namespace,
		NodeID:                a.NodeID,
		NodeName:              a.NodeName,
		JobID:                 a.JobID,
		TaskGroup:             a.TaskGroup,
		AllocatedResources:    a.AllocatedResources,
		DesiredStatus:         a.DesiredStatus,
		DesiredDescription:    a.DesiredDescription,
		ClientStatus:          a.ClientStatus,
		ClientDescription:     a.ClientDescription,
		TaskStates:            a.TaskStates,
		DeploymentStatus:      a.DeploymentStatus,
		FollowupEvalID:        a.FollowupEvalID,
		NextAllocation:        a.NextAllocation,
		RescheduleTracker:     a.RescheduleTracker,
		PreemptedAllocations:  a.PreemptedAllocations,
		PreemptedByAllocation: a.PreemptedByAllocation,
		CreateIndex:           a.CreateIndex,
		ModifyIndex:           a.ModifyIndex,
		CreateTime:            a.CreateTime,
		ModifyTime:            a.ModifyTime,
	}
	if a.Job != nil {
		s.JobType = valueOf(a.Job.Type)
		s.JobVersion = valueOf(a.Job.Version)
	}
	return s
}

// NodeStub is a node's entry in list responses. Attributes and resources
// are included only when asked for, as in Nomad.
func NodeStub(n *api.Node, withResources bool) *api.NodeListStub {
	s := &api.NodeListStub{
		Address:               n.HTTPAddr,
		ID:                    n.ID,
		Datacenter:            n.Datacenter,
		Name:                  n.Name,
		NodeClass:             n.NodeClass,
		NodePool:              n.NodePool,
		Version:               n.Attributes["nomad.version"],
		Drain:                 n.Drain,
		SchedulingEligibility: n.SchedulingEligibility,
		Status:                n.Status,
		StatusDescription:     n.StatusDescription,
		Drivers:               n.Drivers,
		LastDrain:             n.LastDrain,
		CreateIndex:           n.CreateIndex,
		ModifyIndex:           n.ModifyIndex,
	}
	if ip, ok := n.Attributes["unique.network.ip-address"]; ok {
		s.Address = ip
	}
	if withResources {
		s.Attributes = n.Attributes
		s.NodeResources = n.NodeResources
		s.ReservedResources = n.ReservedResources
	}
	return s
}

// valueOf dereferences p, giving the zero value for nil.
func valueOf[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
