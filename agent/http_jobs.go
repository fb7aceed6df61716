package agent

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/jobspec"
	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// jobsRequest serves /v1/jobs: list (GET) and register (PUT/POST).
func (h *httpAPI) jobsRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
		return h.jobList(w, r)
	case http.MethodPut, http.MethodPost:
		var req api.JobRegisterRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		return h.registerJob(w, r, &req)
	}
	return nil, methodNotAllowed()
}

func (h *httpAPI) jobList(w http.ResponseWriter, r *http.Request) (any, error) {
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.JobListStub{}
	allowed := callerACL(r)
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		jobs, err := snap.Jobs(opts.namespace, opts.prefix)
		if err != nil {
			return 0, err
		}
		out = out[:0]
		for _, j := range jobs {
			if !allowed.AllowNamespaceOperation(*j.Namespace, acl.NamespaceCapabilityListJobs) {
				continue
			}
			sum, err := snap.JobSummary(*j.Namespace, *j.ID)
			if err != nil {
				return 0, err
			}
			out = append(out, structs.JobStub(j, sum))
		}
		return snap.Index("jobs", "job_summary"), nil
	})
	return page(w, r, out, err, jobKey)
}

// registerJob canonicalizes a submitted job and registers it.
func (h *httpAPI) registerJob(w http.ResponseWriter, r *http.Request, req *api.JobRegisterRequest) (any, error) {
	job := req.Job
	if job == nil {
		return nil, codedError(http.StatusBadRequest, "Job must be specified")
	}
	if req.EvalPriority < 0 || req.EvalPriority > 100 {
		return nil, codedError(http.StatusBadRequest, "Eval priority must be between 1 and 100")
	}
	if h.toJobRegion(w, r, job, req) {
		return nil, nil
	}
	if err := h.canonicalizeJob(job, r, req.Namespace); err != nil {
		return nil, err
	}
	// The route checked the query's namespace; the job may name another.
	if !callerACL(r).AllowNamespaceOperation(*job.Namespace, acl.NamespaceCapabilitySubmitJob) {
		return nil, server.ErrPermissionDenied
	}
	register := h.srv.RegisterJob
	if structs.IsMultiregion(job) {
		register = h.srv.RegisterMultiregionJob
	}
	res, err := register(&structs.JobRegisterArgs{
		Job: job, Submission: req.Submission, EnforceIndex: req.EnforceIndex, ModifyIndex: req.JobModifyIndex,
		PreserveCounts: req.PreserveCounts, PreserveResources: req.PreserveResources, EvalPriority: req.EvalPriority,
		WriteRequest: writeRequest(r),
	})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return &api.JobRegisterResponse{
		EvalID: res.EvalID, EvalCreateIndex: res.EvalCreateIndex,
		JobModifyIndex: res.JobModifyIndex, Warnings: res.Warnings,
	}, nil
}

// canonicalizeJob applies Nomad's defaults and the server's default
// priority, and puts the job in the request's namespace; a job that names
// no node pool gets the namespace's default one. A job with null list
// entries is refused first: Canonicalize would trip on them.
func (h *httpAPI) canonicalizeJob(job *api.Job, r *http.Request, bodyNamespace string) error {
	if err := jobspec.CheckNulls(job); err != nil {
		return codedError(http.StatusBadRequest, "%v", err)
	}
	if job.Priority == nil {
		job.Priority = new(h.srv.JobLimits().DefaultPriority)
	}
	ns := jobNamespace(job, r, bodyNamespace)
	job.Namespace = &ns
	if job.Name == nil && job.ID != nil {
		job.Name = job.ID
	}
	// A job that names no region, or "global", belongs to this one.
	if job.Region == nil || h.isLocalJobRegion(*job.Region) {
		job.Region = new(h.srv.Region())
	}
	// Nomad (1.7+) places a job with no datacenters anywhere, and in the
	// default node pool.
	if len(job.Datacenters) == 0 {
		job.Datacenters = []string{"*"}
	}
	if job.NodePool == nil || *job.NodePool == "" {
		pool := h.defaultNodePool(ns)
		job.NodePool = &pool
	}
	job.Canonicalize()
	return nil
}

// jobNamespace chooses a submitted job's namespace as Nomad does: the
// ?namespace query parameter (the CLI's -namespace), else the request
// body's Namespace, else the job's own, else "default".
func jobNamespace(job *api.Job, r *http.Request, bodyNamespace string) string {
	for _, ns := range []string{r.URL.Query().Get("namespace"), bodyNamespace, valueOr(job.Namespace, "")} {
		if ns != "" {
			return ns
		}
	}
	return structs.DefaultNamespace
}

// defaultNodePool is the node pool of jobs in namespace that name none:
// the namespace's configured default, else "default".
func (h *httpAPI) defaultNodePool(namespace string) string {
	ns, _ := h.srv.State().Snapshot().NamespaceByName(namespace)
	if ns != nil && ns.NodePoolConfiguration != nil && ns.NodePoolConfiguration.Default != "" {
		return ns.NodePoolConfiguration.Default
	}
	return "default"
}

// valueOr is *p, or def when p is nil.
func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// jobsParse serves /v1/jobs/parse: HCL in, API job JSON out.
func (h *httpAPI) jobsParse(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.JobsParseRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.JobHCL == "" {
		return nil, codedError(http.StatusBadRequest, "Job spec is empty")
	}
	job, err := jobspec.Parse("input.hcl", []byte(req.JobHCL), &jobspec.Options{VarContent: req.Variables, Raw: !req.Canonicalize})
	if err != nil {
		return nil, codedError(http.StatusBadRequest, "%v", err)
	}
	if req.Canonicalize && job.Namespace == nil {
		// The API canonicalises fully, as Nomad does; only the CLI's
		// parse leaves the namespace to its -namespace flag.
		ns := api.DefaultNamespace
		job.Namespace = &ns
	}
	return job, nil
}

// validateJob serves /v1/validate/job.
func (h *httpAPI) validateJob(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.JobValidateRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Job == nil {
		return nil, codedError(http.StatusBadRequest, "Job must be specified")
	}
	if err := h.canonicalizeJob(req.Job, r, req.Namespace); err != nil {
		return nil, err
	}
	resp := &api.JobValidateResponse{DriverConfigValidated: true}
	err := jobspec.Validate(req.Job)
	if err == nil {
		err = h.srv.JobLimits().Check(req.Job)
	}
	if err != nil {
		resp.Error = err.Error()
		resp.ValidationErrors = strings.Split(err.Error(), "\n")
	}
	return resp, nil
}

// jobSubResources are the sub-paths of /v1/job/<id>.
var jobSubResources = []string{"allocations", "evaluations", "summary", "versions", "plan", "evaluate",
	"scale", "revert", "submission", "deployments", "deployment", "dispatch", "periodic/force"}

// jobRequest serves /v1/job/<id> and its sub-resources.
func (h *httpAPI) jobRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/job/")
	ns := namespaceOf(r)
	for _, sub := range jobSubResources {
		if id, ok := strings.CutSuffix(path, "/"+sub); ok {
			return h.jobSubRequest(w, r, ns, id, sub)
		}
	}
	id := path
	switch r.Method {
	case http.MethodGet:
		var job *api.Job
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			var err error
			job, err = snap.JobByID(ns, id)
			if err != nil || job == nil {
				return snap.Index("jobs"), err
			}
			return *job.ModifyIndex, nil
		})
		if err != nil {
			return nil, err
		}
		if job == nil {
			return nil, codedError(http.StatusNotFound, "job not found")
		}
		return job, nil
	case http.MethodPut, http.MethodPost:
		var req api.JobRegisterRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		if req.Job == nil || req.Job.ID == nil || *req.Job.ID != id {
			return nil, codedError(http.StatusBadRequest, "Job ID does not match name")
		}
		return h.registerJob(w, r, &req)
	case http.MethodDelete:
		q := r.URL.Query()
		purge, _ := strconv.ParseBool(q.Get("purge"))
		args := &structs.JobDeregisterArgs{Namespace: ns, JobID: id, Purge: purge, WriteRequest: writeRequest(r)}
		if v := q.Get("eval_priority"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > 100 {
				return nil, codedError(http.StatusBadRequest, "eval_priority must be between 1 and 100")
			}
			args.EvalPriority = p
		}
		deregister := h.srv.DeregisterJobOpts
		if global, _ := strconv.ParseBool(q.Get("global")); global {
			deregister = h.srv.DeregisterMultiregionJob
		}
		evalID, index, err := deregister(args)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &api.JobDeregisterResponse{EvalID: evalID, EvalCreateIndex: index, JobModifyIndex: index}, nil
	}
	return nil, methodNotAllowed()
}

func (h *httpAPI) jobSubRequest(w http.ResponseWriter, r *http.Request, ns, id, sub string) (any, error) {
	switch sub {
	case "allocations":
		// As in Nomad, allocations left by a purged job of the same ID are
		// listed only with ?all=true.
		all, _ := strconv.ParseBool(r.URL.Query().Get("all"))
		out := []*api.AllocationListStub{}
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			allocs, err := snap.AllocsByJob(ns, id)
			if err != nil {
				return 0, err
			}
			job, err := snap.JobByID(ns, id)
			if err != nil {
				return 0, err
			}
			var shown []*api.Allocation
			for _, a := range allocs {
				if all || structs.AllocOfJob(a, job) {
					shown = append(shown, a)
				}
			}
			// The stubs show the tasks' events.
			shown, err = snap.WithTaskEvents(shown)
			out = out[:0]
			for _, a := range shown {
				out = append(out, structs.AllocStub(a))
			}
			return snap.Index("allocs", "jobs"), err
		})
		return out, err
	case "evaluations":
		out := []*api.Evaluation{}
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			evals, err := snap.EvalsByJob(ns, id)
			out = append(out[:0], evals...)
			return snap.Index("evals"), err
		})
		return out, err
	case "summary":
		var sum *api.JobSummary
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			var err error
			sum, err = snap.JobSummary(ns, id)
			return snap.Index("job_summary"), err
		})
		if err == nil && sum == nil {
			return nil, codedError(http.StatusNotFound, "job not found")
		}
		return sum, err
	case "versions":
		return h.jobVersions(w, r, ns, id)
	case "plan":
		return h.jobPlan(w, r, id)
	case "evaluate":
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return nil, methodNotAllowed()
		}
		var req api.JobEvaluateRequest
		if r.ContentLength != 0 {
			if err := decodeBody(r, &req); err != nil {
				return nil, err
			}
		}
		evalID, index, err := h.srv.EvaluateJob(secretOf(r), ns, id, req.EvalOptions.ForceReschedule)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &api.JobRegisterResponse{EvalID: evalID, EvalCreateIndex: index}, nil
	case "scale":
		return h.jobScale(w, r, ns, id)
	case "revert":
		var req api.JobRevertRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		res, err := h.srv.RevertJob(secretOf(r), ns, id, req.JobVersion, req.EnforcePriorVersion)
		if err != nil {
			return nil, err
		}
		setIndex(w, res.Index)
		return &api.JobRegisterResponse{EvalID: res.EvalID, EvalCreateIndex: res.EvalCreateIndex, JobModifyIndex: res.JobModifyIndex}, nil
	case "submission":
		return h.jobSubmission(w, r, ns, id)
	case "deployments", "deployment":
		return h.jobDeployments(w, r, ns, id, sub == "deployment")
	case "dispatch":
		return h.jobDispatch(w, r, ns, id)
	case "periodic/force":
		return h.jobPeriodicForce(w, r, ns, id)
	}
	return nil, codedError(http.StatusNotFound, "job %s not supported: %s", sub, id)
}

func (h *httpAPI) jobVersions(w http.ResponseWriter, r *http.Request, ns, id string) (any, error) {
	withDiffs, _ := strconv.ParseBool(r.URL.Query().Get("diffs"))
	var versions []*api.Job
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		versions, err = snap.JobVersions(ns, id)
		return snap.Index("job_versions"), err
	})
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, codedError(http.StatusNotFound, "job %s not found", id)
	}
	resp := &api.JobVersionsResponse{Versions: versions}
	if withDiffs {
		for i := 0; i+1 < len(versions); i++ {
			resp.Diffs = append(resp.Diffs, server.JobDiff(versions[i+1], versions[i]))
		}
	}
	return resp, nil
}

func (h *httpAPI) jobPlan(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, methodNotAllowed()
	}
	var req api.JobPlanRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Job == nil {
		return nil, codedError(http.StatusBadRequest, "Job must be specified")
	}
	if req.Job.ID == nil || *req.Job.ID != id {
		return nil, codedError(http.StatusBadRequest, "Job ID does not match")
	}
	if h.toJobRegion(w, r, req.Job, &req) {
		return nil, nil
	}
	if err := h.canonicalizeJob(req.Job, r, req.Namespace); err != nil {
		return nil, err
	}
	if !callerACL(r).AllowNamespaceOperation(*req.Job.Namespace, acl.NamespaceCapabilitySubmitJob) {
		return nil, server.ErrPermissionDenied
	}
	index := h.srv.State().Snapshot().LatestIndex()
	resp, err := h.srv.PlanJob(req.Job, req.Diff)
	if err == nil {
		setIndex(w, index) // the state the plan was made against
	}
	return resp, err
}

func (h *httpAPI) jobScale(w http.ResponseWriter, r *http.Request, ns, id string) (any, error) {
	if r.Method == http.MethodGet {
		var status *api.JobScaleStatusResponse
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			job, err := snap.JobByID(ns, id)
			if err != nil || job == nil {
				return snap.Index("jobs"), err
			}
			allocs, err := snap.AllocsByJob(ns, id)
			if err != nil {
				return 0, err
			}
			events, err := snap.ScalingEventsOf(ns, id)
			status = scaleStatus(job, allocs, events)
			return snap.Index("jobs", "allocs", "scaling_events"), err
		})
		if err == nil && status == nil {
			return nil, codedError(http.StatusNotFound, "job not found")
		}
		return status, err
	}
	var req api.ScalingRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	group := req.Target["Group"]
	if group == "" {
		return nil, codedError(http.StatusBadRequest, "missing task group name for scaling action")
	}
	res, err := h.srv.ScaleJob(&structs.JobScaleArgs{Namespace: ns, JobID: id, Group: group, Count: req.Count,
		Message: req.Message, Error: req.Error, Meta: req.Meta, WriteRequest: structs.WriteRequest{AuthToken: secretOf(r)}})
	if err != nil {
		return nil, err
	}
	setIndex(w, res.Index)
	return &api.JobRegisterResponse{EvalID: res.EvalID, EvalCreateIndex: res.EvalCreateIndex, JobModifyIndex: res.JobModifyIndex}, nil
}

func namespaceOf(r *http.Request) string {
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		return ns
	}
	return structs.DefaultNamespace
}

// sortAllocs orders allocations newest first, as Nomad's lists are.
func sortAllocs(allocs []*api.AllocationListStub) {
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].CreateIndex > allocs[j].CreateIndex })
}

// jobSubmission serves /v1/job/<id>/submission?version=N: the job file a
// version was registered from.
func (h *httpAPI) jobSubmission(w http.ResponseWriter, r *http.Request, ns, id string) (any, error) {
	version, err := strconv.ParseUint(r.URL.Query().Get("version"), 10, 64)
	if err != nil {
		return nil, codedError(http.StatusBadRequest, "Unable to parse job version: %v", err)
	}
	var sub *api.JobSubmission
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		sub, err = snap.JobSubmission(ns, id, version)
		return snap.Index("job_versions"), err
	})
	if err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, codedError(http.StatusNotFound, "job source not found")
	}
	return sub, nil
}
