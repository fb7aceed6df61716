package agent

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// varsList serves /v1/vars: the metadata (never the items) of the
// variables under ?prefix, in one namespace or, with namespace=*, all.
func (h *httpAPI) varsList(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	out := []*api.VariableMetadata{}
	allowed := callerACL(r)
	err = h.blockingRead(w, r, indexAtLeastOne(func(snap *state.Snapshot) (uint64, error) {
		vars, err := snap.VarsByPrefix(opts.namespace, opts.prefix)
		out = out[:0]
		for _, v := range vars {
			if allowed.AllowVariableOperation(v.Namespace, v.Path, acl.VariablesCapabilityList) {
				m := v.Metadata()
				// The lock's ID lets its holder change the variable: as in
				// Nomad, only those who may read the variable see it.
				if !allowed.AllowVariableOperation(v.Namespace, v.Path, acl.VariablesCapabilityRead) {
					m.Lock = nil
				}
				out = append(out, m)
			}
		}
		return snap.VarsIndex(), err
	}))
	return page(w, r, out, err, varKey)
}

// varRequest serves /v1/var/<path>: GET reads, PUT writes (?cas=N checks
// the modify index first), DELETE removes (?cas=N likewise). A failed
// check answers 409 with the current variable, as Nomad does.
func (h *httpAPI) varRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1/var/"), " /")
	if path == "" {
		return nil, codedError(http.StatusBadRequest, "Missing variable path")
	}
	switch r.Method {
	case http.MethodGet:
		return h.varRead(w, r, path)
	case http.MethodPut, http.MethodPost:
		return h.varWrite(w, r, path)
	case http.MethodDelete:
		return h.varDelete(w, r, path)
	}
	return nil, methodNotAllowed()
}

func (h *httpAPI) varRead(w http.ResponseWriter, r *http.Request, path string) (any, error) {
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	var found *structs.Var
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		v, err := snap.VarGet(opts.namespace, path)
		found = v
		return snap.VarsIndex(), err
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, codedError(http.StatusNotFound, api.ErrVariableNotFound)
	}
	return h.srv.OpenVar(found)
}

func (h *httpAPI) varWrite(w http.ResponseWriter, r *http.Request, path string) (any, error) {
	q := r.URL.Query()
	var v api.Variable
	if err := decodeBody(r, &v); err != nil {
		return nil, err
	}
	v.Path = path
	// The query's namespace wins over the body's, as in Nomad.
	if ns := q.Get("namespace"); ns != "" {
		v.Namespace = ns
	} else if v.Namespace == "" {
		v.Namespace = "default"
	}
	args := &structs.VarApplyArgs{Op: structs.VarOpSet, Var: &v}
	if err := casArg(q.Get("cas"), args, structs.VarOpCAS); err != nil {
		return nil, err
	}
	// Nomad's variable locks: ?lock-acquire, ?lock-renew, ?lock-release.
	for _, op := range []structs.VarOp{structs.VarOpLockAcquire, structs.VarOpLockRelease, structs.VarOpLockRenew} {
		if _, ok := q[string(op)]; ok {
			args.Op = op
		}
	}
	return h.varApply(w, r, args)
}

func (h *httpAPI) varDelete(w http.ResponseWriter, r *http.Request, path string) (any, error) {
	opts, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	args := &structs.VarApplyArgs{Op: structs.VarOpDelete, Var: &api.Variable{Namespace: opts.namespace, Path: path}}
	if err := casArg(r.URL.Query().Get("cas"), args, structs.VarOpDeleteCAS); err != nil {
		return nil, err
	}
	return h.varApply(w, r, args)
}

// casArg turns a ?cas=N parameter into a check-and-set operation.
func casArg(raw string, args *structs.VarApplyArgs, op structs.VarOp) error {
	if raw == "" {
		return nil
	}
	index, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return codedError(http.StatusBadRequest, "Invalid cas index %q: %v", raw, err)
	}
	args.Op, args.CheckIndex = op, index
	return nil
}

// varApply runs a variable operation and answers a conflict with 409 and
// the current variable; otherwise it returns the stored variable.
func (h *httpAPI) varApply(w http.ResponseWriter, r *http.Request, args *structs.VarApplyArgs) (any, error) {
	// The route checked the query's namespace; the body may name another.
	op := acl.VariablesCapabilityWrite
	if args.Op == structs.VarOpDelete || args.Op == structs.VarOpDeleteCAS {
		op = acl.VariablesCapabilityDestroy
	}
	if !callerACL(r).AllowVariableOperation(args.Var.Namespace, args.Var.Path, op) {
		return nil, server.ErrPermissionDenied
	}
	args.WriteRequest = writeRequest(r)
	apply := h.srv.ApplyVar
	if args.Op == structs.VarOpLockRenew {
		apply = h.srv.RenewVarLock
	}
	reply, err := apply(args)
	if err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	if reply.Conflict != nil {
		if !callerACL(r).AllowVariableOperation(args.Var.Namespace, args.Var.Path, acl.VariablesCapabilityRead) {
			// A writer who may not read sees neither the items nor the
			// lock's ID.
			reply.Conflict.Items = nil
			if reply.Conflict.Lock != nil {
				reply.Conflict.Lock.ID = ""
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		if err := json.NewEncoder(w).Encode(reply.Conflict); err != nil {
			h.logger.Debug("write conflict response", "path", args.Var.Path, "error", err)
		}
		return nil, nil
	}
	if reply.Output == nil {
		return nil, nil
	}
	return reply.Output, nil
}
