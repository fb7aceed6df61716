package agent

import (
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// nodePoolsRequest serves /v1/node/pools: GET lists the pools the token may
// read (?prefix, ?filter and paging), PUT/POST creates or updates the pool
// in the body.
func (h *httpAPI) nodePoolsRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
		opts, err := parseQuery(r)
		if err != nil {
			return nil, err
		}
		allowed := callerACL(r)
		out := []*api.NodePool{}
		err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			pools, err := snap.NodePools(opts.prefix)
			out = out[:0]
			for _, p := range pools {
				if allowed.AllowNodePoolOperation(p.Name, acl.NodePoolCapabilityRead) {
					out = append(out, p)
				}
			}
			return snap.NodePoolsIndex(), err
		})
		return page(w, r, out, err, func(p *api.NodePool) string { return p.Name })
	case http.MethodPut, http.MethodPost:
		var pool api.NodePool
		if err := decodeBody(r, &pool); err != nil {
			return nil, err
		}
		return nil, h.upsertNodePool(w, r, &pool)
	}
	return nil, methodNotAllowed()
}

func (h *httpAPI) upsertNodePool(w http.ResponseWriter, r *http.Request, pool *api.NodePool) error {
	index, err := h.srv.UpsertNodePools(secretOf(r), []*api.NodePool{pool})
	if err != nil {
		return err
	}
	setIndex(w, index)
	return nil
}

// nodePoolPath splits /v1/node/pool/<name>[/nodes|/jobs].
func nodePoolPath(r *http.Request) (name, sub string) {
	name, sub, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/node/pool/"), "/")
	return name, sub
}

// nodePoolRequest serves /v1/node/pool/<name> (GET, PUT/POST, DELETE) and
// its /nodes and /jobs.
func (h *httpAPI) nodePoolRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	name, sub := nodePoolPath(r)
	switch sub {
	case "nodes":
		return h.nodePoolNodes(w, r, name)
	case "jobs":
		return h.nodePoolJobs(w, r, name)
	case "":
	default:
		return nil, codedError(http.StatusNotFound, "node pool not found")
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var pool api.NodePool
		if err := decodeBody(r, &pool); err != nil {
			return nil, err
		}
		if pool.Name == "" {
			pool.Name = name
		}
		if pool.Name != name {
			return nil, codedError(http.StatusBadRequest, "Node pool name does not match request path")
		}
		return nil, h.upsertNodePool(w, r, &pool)
	case http.MethodDelete:
		index, err := h.srv.DeleteNodePools(secretOf(r), []string{name})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	default:
		return nil, methodNotAllowed()
	}
	var pool *api.NodePool
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		var err error
		pool, err = snap.NodePoolByName(name)
		return snap.NodePoolsIndex(), err
	})
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, codedError(http.StatusNotFound, "node pool not found")
	}
	return pool, nil
}

// nodePoolNodes serves /v1/node/pool/<name>/nodes: the pool's nodes (every
// node for "all").
func (h *httpAPI) nodePoolNodes(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	out := []*api.NodeListStub{}
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		pool, err := snap.NodePoolByName(name)
		if err != nil || pool == nil {
			return snap.NodePoolsIndex(), err
		}
		nodes, err := snap.Nodes()
		out = out[:0]
		for _, n := range nodes {
			if name == structs.NodePoolAll || structs.NodePoolOf(n) == name {
				out = append(out, structs.NodeStub(n, false))
			}
		}
		return max(snap.Index("nodes"), snap.NodePoolsIndex()), err
	})
	return page(w, r, out, err, nodeKey)
}

// nodePoolJobs serves /v1/node/pool/<name>/jobs: the jobs of ?namespace
// ("*": all) that run in the pool.
func (h *httpAPI) nodePoolJobs(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	allowed := callerACL(r)
	out := []*api.JobListStub{}
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		jobs, err := snap.Jobs(opts.namespace, opts.prefix)
		if err != nil {
			return 0, err
		}
		out = out[:0]
		for _, j := range jobs {
			if valueOr(j.NodePool, structs.NodePoolDefault) != name ||
				!allowed.AllowNamespaceOperation(*j.Namespace, acl.NamespaceCapabilityListJobs) {
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

// nodePoolRule: reading a pool needs its read capability (and node read
// for its nodes), changing it write, deleting it delete.
func nodePoolRule(r *http.Request, a *acl.ACL) bool {
	name, sub := nodePoolPath(r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		ok := a.AllowNodePoolOperation(name, acl.NodePoolCapabilityRead)
		if sub == "nodes" {
			return ok && a.AllowNodeRead()
		}
		return ok
	case http.MethodDelete:
		return a.AllowNodePoolOperation(name, acl.NodePoolCapabilityDelete)
	}
	return a.AllowNodePoolOperation(name, acl.NodePoolCapabilityWrite)
}
