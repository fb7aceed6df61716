package server

import (
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/events"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// eventsOf lists the events of an applied Raft entry: the objects it wrote,
// read back from after (the state at its index), or for deletions from
// before.
func eventsOf(index uint64, req any, before, after *state.Snapshot) []events.Event {
	e := &eventList{index: index, after: after}
	switch r := req.(type) {
	case *structs.JobRegisterRequest:
		e.job("JobRegistered", *r.Job.Namespace, *r.Job.ID)
		e.evals(evalSlice(r.Eval))
	case *structs.JobDeregisterRequest:
		if job, _ := after.JobByID(r.Namespace, r.JobID); job != nil {
			e.job("JobDeregistered", r.Namespace, r.JobID)
		} else if job, _ := before.JobByID(r.Namespace, r.JobID); job != nil {
			e.add(events.TopicJob, "JobDeregistered", r.JobID, r.Namespace, nil, map[string]any{"Job": job, "Deleted": true})
		}
		e.evals(evalSlice(r.Eval))
	case *structs.EvalUpdateRequest:
		e.evals(r.Evals)
	case *structs.ApplyPlanResultsRequest:
		e.planResults(r)
	case *structs.ApplyPlanResultsBatchRequest:
		for _, p := range r.Plans {
			e.planResults(p)
		}
	case *structs.AllocClientUpdateRequest:
		for _, a := range r.Allocs {
			e.alloc("AllocationUpdated", a.ID)
		}
		e.evals(r.Evals)
	case *structs.AllocDesiredTransitionRequest:
		for _, id := range r.AllocIDs {
			e.alloc("AllocationUpdateDesiredStatus", id)
		}
		e.evals(r.Evals)
	case *structs.NodeRegisterRequest:
		e.node("NodeRegistration", r.Node.ID)
		e.evals(r.Evals)
	case *structs.NodeStatusUpdateRequest:
		e.node("NodeEvent", r.NodeID)
		e.evals(r.Evals)
	case *structs.NodeEligibilityRequest:
		e.node("NodeEligibility", r.NodeID)
		e.evals(r.Evals)
	case *structs.NodeDrainRequest:
		e.node("NodeDrain", r.NodeID)
		e.evals(r.Evals)
	case *structs.DeploymentUpsertRequest:
		for _, d := range r.Deployments {
			e.deployment("DeploymentStatusUpdate", d.ID)
		}
		e.evals(r.Evals)
	case *structs.ServiceRegistrationUpsertRequest:
		for _, s := range r.Services {
			if reg, _ := after.ServiceRegistrationByID(s.ID); reg != nil {
				e.service("ServiceRegistration", reg)
			}
		}
	case *structs.ServiceRegistrationDeleteRequest:
		gone := map[string]*api.ServiceRegistration{}
		for _, id := range r.IDs {
			if reg, _ := before.ServiceRegistrationByID(id); reg != nil {
				gone[id] = reg
			}
		}
		for _, allocID := range r.AllocIDs {
			regs, _ := before.ServiceRegistrationsByAlloc(allocID)
			for _, reg := range regs {
				gone[reg.ID] = reg
			}
		}
		for _, reg := range gone {
			e.service("ServiceDeregistration", reg)
		}
	case *structs.NodePoolUpsertRequest:
		for _, p := range r.Pools {
			if pool, _ := after.NodePoolByName(p.Name); pool != nil {
				e.add(events.TopicNodePool, "NodePoolUpserted", pool.Name, "", nil, map[string]any{"NodePool": (*nodePoolPayload)(pool)})
			}
		}
	case *structs.NodePoolDeleteRequest:
		for _, name := range r.Names {
			if pool, _ := before.NodePoolByName(name); pool != nil {
				e.add(events.TopicNodePool, "NodePoolDeleted", name, "", nil, map[string]any{"NodePool": (*nodePoolPayload)(pool)})
			}
		}
	}
	return e.out
}

// nodePoolPayload is a node pool as an event carries it: without the API
// type's JSON form, whose NodeIdentityTTL is a string, so that the Go
// client's event decoder reads it back as a duration.
type nodePoolPayload api.NodePool

// nodePayload is a node as an event carries it: with an empty SecretID,
// as Nomad's events show it, so that no reader mistakes its absence.
type nodePayload struct {
	*api.Node
	SecretID string
}

// eventList collects an entry's events.
type eventList struct {
	index uint64
	after *state.Snapshot
	out   []events.Event
}

func (e *eventList) add(topic, typ, key, namespace string, filterKeys []string, payload map[string]any) {
	e.out = append(e.out, events.Event{Topic: topic, Type: typ, Key: key, Namespace: namespace,
		FilterKeys: filterKeys, Index: e.index, Payload: payload})
}

func (e *eventList) job(typ, namespace, id string) {
	if job, _ := e.after.JobByID(namespace, id); job != nil {
		e.add(events.TopicJob, typ, id, namespace, nil, map[string]any{"Job": job})
	}
}

func (e *eventList) evals(evals []*api.Evaluation) {
	for _, ev := range evals {
		if stored, _ := e.after.EvalByID(ev.ID); stored != nil {
			e.add(events.TopicEvaluation, "EvaluationUpdated", stored.ID, stored.Namespace,
				nonEmpty(stored.JobID, stored.DeploymentID), map[string]any{"Evaluation": stored})
		}
	}
}

// planResults lists the allocations and deployments a plan wrote.
func (e *eventList) planResults(r *structs.ApplyPlanResultsRequest) {
	for _, a := range r.Allocs {
		e.alloc("PlanResult", a.ID)
	}
	for _, a := range r.Stopped {
		e.alloc("PlanResult", a.ID)
	}
	if r.Deployment != nil {
		e.deployment("DeploymentStatusUpdate", r.Deployment.ID)
	}
	for _, u := range r.DeploymentUpdates {
		e.deployment("DeploymentStatusUpdate", u.DeploymentID)
	}
}

func (e *eventList) alloc(typ, id string) {
	ev, _ := e.after.AllocEvent(id)
	if ev == nil {
		return
	}
	// The job travels in the Job topic; an allocation's event leaves it out.
	a := ev.Allocation()
	e.add(events.TopicAllocation, typ, a.ID, a.Namespace, nonEmpty(a.JobID, a.DeploymentID), map[string]any{"Allocation": ev})
}

func (e *eventList) deployment(typ, id string) {
	if d, _ := e.after.DeploymentByID(id); d != nil {
		e.add(events.TopicDeployment, typ, d.ID, d.Namespace, nonEmpty(d.JobID), map[string]any{"Deployment": d})
	}
}

func (e *eventList) node(typ, id string) {
	if n, _ := e.after.NodeByID(id); n != nil {
		e.add(events.TopicNode, typ, n.ID, "", nil, map[string]any{"Node": nodePayload{Node: n}})
	}
}

func (e *eventList) service(typ string, reg *api.ServiceRegistration) {
	e.add(events.TopicService, typ, reg.ServiceName, reg.Namespace, nonEmpty(reg.ID, reg.JobID, reg.AllocID),
		map[string]any{"Service": reg})
}

// nonEmpty drops the empty strings of keys.
func nonEmpty(keys ...string) []string {
	var out []string
	for _, k := range keys {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}

// Events subscribes to the event stream after index.
func (s *Server) Events(filter events.Filter, index uint64) *events.Subscription {
	return s.events.Subscribe(filter, index)
}
