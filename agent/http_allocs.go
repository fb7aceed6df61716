package agent

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/paginate"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// allocsList serves /v1/allocations: those of ?namespace ("*": all).
func (h *httpAPI) allocsList(w http.ResponseWriter, r *http.Request) (any, error) {
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.AllocationListStub{}
	allowed := callerACL(r)
	// As in Nomad, the resources come only with ?resources=true.
	resources, _ := strconv.ParseBool(r.URL.Query().Get("resources"))
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		allocs, err := snap.Allocs(opts.prefix)
		out = out[:0]
		var shown []*api.Allocation
		for _, a := range allocs {
			if opts.inNamespace(a.Namespace) && allowed.AllowNamespaceOperation(a.Namespace, acl.NamespaceCapabilityReadJob) {
				shown = append(shown, a)
			}
		}
		if err != nil {
			return 0, err
		}
		// The stubs show the tasks' events.
		shown, err = snap.WithTaskEvents(shown)
		for _, a := range shown {
			stub := structs.AllocStub(a)
			if !resources {
				stub.AllocatedResources = nil
			}
			out = append(out, stub)
		}
		return snap.Index("allocs"), err
	})
	sortAllocs(out)
	return page(w, r, out, err, allocKey)
}

// allocRequest serves /v1/allocation/<id>, /v1/allocation/<id>/stop and
// /v1/allocation/<id>/services.
func (h *httpAPI) allocRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/allocation/")
	if id, ok := strings.CutSuffix(path, "/stop"); ok {
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return nil, methodNotAllowed()
		}
		q := r.URL.Query()
		args := &structs.AllocStopArgs{AllocID: id, WriteRequest: writeRequest(r)}
		args.Reschedule, _ = strconv.ParseBool(q.Get("reschedule"))
		args.NoShutdownDelay, _ = strconv.ParseBool(q.Get("no_shutdown_delay"))
		evalID, index, err := h.srv.StopAllocOpts(args)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &api.AllocStopResponse{EvalID: evalID}, nil
	}
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	if id, ok := strings.CutSuffix(path, "/services"); ok {
		return h.allocServices(w, r, id)
	}
	var alloc *api.Allocation
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		alloc, err = snap.AllocByID(path)
		if err != nil || alloc == nil {
			return snap.Index("allocs"), err
		}
		return alloc.ModifyIndex, nil
	})
	if err != nil {
		return nil, err
	}
	if alloc == nil {
		return nil, codedError(http.StatusNotFound, "alloc not found")
	}
	return alloc, nil
}

// allocServices serves /v1/allocation/<id>/services: the Nomad-provider
// services the allocation registered.
func (h *httpAPI) allocServices(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	out := []*api.ServiceRegistration{}
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		regs, err := snap.ServiceRegistrationsByAlloc(id)
		out = append(out[:0], regs...)
		return snap.ServicesIndex(), err
	})
	return out, err
}

// evalsList serves /v1/evaluations: those of ?namespace ("*": all),
// with ?job and ?status narrowing them.
func (h *httpAPI) evalsList(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method == http.MethodDelete {
		return h.evalsDelete(w, r)
	}
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	out, err := h.listEvals(w, r)
	return page(w, r, out, err, evalKey)
}

// evalsDelete serves DELETE /v1/evaluations: the evaluations the body
// names by ID or by filter go, while the eval broker is paused.
func (h *httpAPI) evalsDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.EvalDeleteRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	reply, err := h.srv.DeleteEvals(secretOf(r), req.EvalIDs, req.Filter)
	if err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &api.EvalDeleteResponse{Count: reply.Count}, nil
}

// evalsCount serves /v1/evaluations/count: how many evaluations the list
// with the same parameters (its ?filter= included) would hold.
func (h *httpAPI) evalsCount(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	evals, err := h.listEvals(w, r)
	if err != nil {
		return nil, err
	}
	opts, err := paginate.FromQuery(r.URL.Query())
	if err != nil {
		return nil, listParamError(err)
	}
	matched, _, err := paginate.Apply(evals, evalKey, paginate.Options{Filter: opts.Filter})
	if err != nil {
		return nil, listParamError(err)
	}
	return &api.EvalCountResponse{Count: len(matched)}, nil
}

// listEvals reads the evaluations a list request selects by namespace,
// ACL, ?prefix, ?job and ?status, as a blocking query.
func (h *httpAPI) listEvals(w http.ResponseWriter, r *http.Request) ([]*api.Evaluation, error) {
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	jobFilter := r.URL.Query().Get("job")
	statusFilter := r.URL.Query().Get("status")
	out := []*api.Evaluation{}
	allowed := callerACL(r)
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		evals, err := snap.Evals(opts.prefix)
		out = out[:0]
		for _, e := range evals {
			if !opts.inNamespace(e.Namespace) || !allowed.AllowNamespaceOperation(e.Namespace, acl.NamespaceCapabilityReadJob) {
				continue
			}
			if (jobFilter == "" || e.JobID == jobFilter) && (statusFilter == "" || e.Status == statusFilter) {
				out = append(out, e)
			}
		}
		return snap.Index("evals"), err
	})
	return out, err
}

// evalRequest serves /v1/evaluation/<id> and its /allocations.
func (h *httpAPI) evalRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/evaluation/")
	if id, ok := strings.CutSuffix(path, "/allocations"); ok {
		out := []*api.AllocationListStub{}
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			allocs, err := snap.AllocsByEval(id)
			if err != nil {
				return 0, err
			}
			// The stubs show the tasks' events.
			allocs, err = snap.WithTaskEvents(allocs)
			out = out[:0]
			for _, a := range allocs {
				out = append(out, structs.AllocStub(a))
			}
			return snap.Index("allocs"), err
		})
		return out, err
	}
	related, _ := strconv.ParseBool(r.URL.Query().Get("related"))
	var eval *api.Evaluation
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		eval, err = snap.EvalByID(path)
		if err != nil || eval == nil {
			return snap.Index("evals"), err
		}
		if related {
			copied := *eval
			eval = &copied
			if eval.RelatedEvals, err = relatedEvals(snap, eval); err != nil {
				return 0, err
			}
		}
		return eval.ModifyIndex, nil
	})
	if err != nil {
		return nil, err
	}
	if eval == nil {
		return nil, codedError(http.StatusNotFound, "eval not found")
	}
	return eval, nil
}

// relatedEvals follows an evaluation's next, previous and blocked links,
// transitively, as Nomad's ?related=true does; the evaluation itself is
// not listed.
func relatedEvals(snap *state.Snapshot, eval *api.Evaluation) ([]*api.EvaluationStub, error) {
	seen := map[string]bool{eval.ID: true}
	queue := []*api.Evaluation{eval}
	var out []*api.EvaluationStub
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		for _, id := range []string{e.NextEval, e.PreviousEval, e.BlockedEval} {
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			linked, err := snap.EvalByID(id)
			if err != nil {
				return nil, err
			}
			if linked == nil {
				continue
			}
			queue = append(queue, linked)
			out = append(out, evalStub(linked))
		}
	}
	return out, nil
}

// evalStub is an evaluation's entry among related evaluations.
func evalStub(e *api.Evaluation) *api.EvaluationStub {
	return &api.EvaluationStub{ID: e.ID, Priority: e.Priority, Type: e.Type, TriggeredBy: e.TriggeredBy,
		Namespace: e.Namespace, JobID: e.JobID, NodeID: e.NodeID, DeploymentID: e.DeploymentID,
		Status: e.Status, StatusDescription: e.StatusDescription, WaitUntil: e.WaitUntil,
		NextEval: e.NextEval, PreviousEval: e.PreviousEval, BlockedEval: e.BlockedEval,
		CreateIndex: e.CreateIndex, ModifyIndex: e.ModifyIndex, CreateTime: e.CreateTime, ModifyTime: e.ModifyTime}
}
