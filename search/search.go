// Package search answers Nomad's /v1/search (object IDs and names by
// prefix) and /v1/search/fuzzy (names containing a text, with the objects
// they belong to) over a read-only view of the cluster state, showing
// only what the caller's ACL may read.
package search

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/api/contexts"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/structs"
)

// Limit is how many matches a context returns; more are truncated.
const Limit = 20

// MinFuzzyLength is the shortest text a fuzzy search takes.
const MinFuzzyLength = 2

// State is the view of the cluster a search reads.
type State interface {
	Jobs(namespace, prefix string) ([]*api.Job, error)
	Evals(prefix string) ([]*api.Evaluation, error)
	Allocs(prefix string) ([]*api.Allocation, error)
	NodesByPrefix(prefix string) ([]*api.Node, error)
	Deployments(prefix string) ([]*api.Deployment, error)
	Namespaces(prefix string) ([]*api.Namespace, error)
	NodePools(prefix string) ([]*api.NodePool, error)
	VarsByPrefix(namespace, prefix string) ([]*structs.Var, error)
}

// Request is a search: its context ("all" for every one), the namespace
// of namespaced objects ("*": all) and the caller's ACL.
type Request struct {
	Context   contexts.Context
	Namespace string
	ACL       *acl.ACL
}

// prefixContexts are the contexts a prefix search of "all" covers.
var prefixContexts = []contexts.Context{contexts.Jobs, contexts.Evals, contexts.Allocs, contexts.Nodes,
	contexts.Deployments, contexts.Namespaces, contexts.NodePools, contexts.Variables, contexts.Plugins, contexts.Volumes}

// ErrInvalid marks a search that cannot be answered (an unknown context,
// a text too short).
var ErrInvalid = fmt.Errorf("invalid search")

func (r Request) inNamespace(ns string) bool {
	return r.Namespace == "*" || r.Namespace == ns
}

func (r Request) readJob(ns string) bool {
	return r.inNamespace(ns) && r.ACL.AllowNamespaceOperation(ns, acl.NamespaceCapabilityReadJob)
}

// wanted lists the contexts a request covers, of those given for "all".
func (r Request) wanted(all []contexts.Context) ([]contexts.Context, error) {
	if r.Context == contexts.All || r.Context == "" {
		return all, nil
	}
	for _, c := range all {
		if c == r.Context {
			return []contexts.Context{c}, nil
		}
	}
	return nil, fmt.Errorf("%w: context %q is not supported", ErrInvalid, r.Context)
}

// Prefix finds the IDs (names, for named objects) that start with prefix.
func Prefix(st State, prefix string, req Request) (*api.SearchResponse, error) {
	ctxs, err := req.wanted(prefixContexts)
	if err != nil {
		return nil, err
	}
	out := &api.SearchResponse{Matches: map[contexts.Context][]string{}, Truncations: map[contexts.Context]bool{}}
	for _, c := range ctxs {
		ids, err := prefixMatches(st, c, prefix, req)
		if err != nil {
			return nil, err
		}
		if ids == nil && !visible(c, req.ACL) {
			continue
		}
		sort.Strings(ids)
		if len(ids) > Limit {
			ids, out.Truncations[c] = ids[:Limit], true
		} else {
			out.Truncations[c] = false
		}
		out.Matches[c] = append([]string{}, ids...)
	}
	return out, nil
}

// visible reports whether the caller may see a context at all: an empty
// match list of a context it cannot read is left out.
func visible(c contexts.Context, a *acl.ACL) bool {
	switch c {
	case contexts.Nodes:
		return a.AllowNodeRead()
	case contexts.Plugins, contexts.Volumes:
		return a.AllowPluginList() || a.IsManagement()
	}
	return true
}

func prefixMatches(st State, c contexts.Context, prefix string, req Request) ([]string, error) {
	var ids []string
	switch c {
	case contexts.Jobs:
		jobs, err := st.Jobs(req.Namespace, prefix)
		for _, j := range jobs {
			if req.inNamespace(*j.Namespace) && req.ACL.AllowNamespaceOperation(*j.Namespace, acl.NamespaceCapabilityListJobs) {
				ids = append(ids, *j.ID)
			}
		}
		return ids, err
	case contexts.Evals:
		evals, err := st.Evals(prefix)
		for _, e := range evals {
			if req.readJob(e.Namespace) {
				ids = append(ids, e.ID)
			}
		}
		return ids, err
	case contexts.Allocs:
		allocs, err := st.Allocs(prefix)
		for _, a := range allocs {
			if req.readJob(a.Namespace) {
				ids = append(ids, a.ID)
			}
		}
		return ids, err
	case contexts.Deployments:
		deps, err := st.Deployments(prefix)
		for _, d := range deps {
			if req.readJob(d.Namespace) {
				ids = append(ids, d.ID)
			}
		}
		return ids, err
	case contexts.Nodes:
		if !req.ACL.AllowNodeRead() {
			return nil, nil
		}
		nodes, err := st.NodesByPrefix(prefix)
		for _, n := range nodes {
			ids = append(ids, n.ID)
		}
		return ids, err
	case contexts.Namespaces:
		nss, err := st.Namespaces(prefix)
		for _, ns := range nss {
			if req.ACL.AllowNamespace(ns.Name) {
				ids = append(ids, ns.Name)
			}
		}
		return ids, err
	case contexts.NodePools:
		pools, err := st.NodePools(prefix)
		for _, p := range pools {
			if req.ACL.AllowNodePoolOperation(p.Name, acl.NodePoolCapabilityRead) {
				ids = append(ids, p.Name)
			}
		}
		return ids, err
	case contexts.Variables:
		vars, err := st.VarsByPrefix(req.Namespace, prefix)
		for _, v := range vars {
			if req.ACL.AllowVariableOperation(v.Namespace, v.Path, acl.VariablesCapabilityList) {
				ids = append(ids, v.Path)
			}
		}
		return ids, err
	}
	// Plugins and volumes: Roam has no CSI, so there are never any.
	return nil, nil
}

// fuzzyContexts are the contexts a fuzzy search of "all" covers: names,
// not UUIDs.
var fuzzyContexts = []contexts.Context{contexts.Jobs, contexts.Groups, contexts.Services, contexts.Tasks,
	contexts.Images, contexts.Commands, contexts.Classes, contexts.Nodes, contexts.NodePools,
	contexts.Namespaces, contexts.Variables, contexts.Plugins}

// Fuzzy finds the names that contain text, case-insensitively; a match
// inside a job names its scope (namespace, job, group, task).
func Fuzzy(st State, text string, req Request) (*api.FuzzySearchResponse, error) {
	if len(text) < MinFuzzyLength {
		return nil, fmt.Errorf("%w: fuzzy search query must be at least %d characters", ErrInvalid, MinFuzzyLength)
	}
	ctxs, err := req.wanted(fuzzyContexts)
	if err != nil {
		return nil, err
	}
	f := &fuzzy{text: strings.ToLower(text), want: map[contexts.Context]bool{}, found: map[contexts.Context][]api.FuzzyMatch{}}
	for _, c := range ctxs {
		f.want[c] = true
	}
	if err := f.searchJobs(st, req); err != nil {
		return nil, err
	}
	if err := f.searchOthers(st, req); err != nil {
		return nil, err
	}
	out := &api.FuzzySearchResponse{Matches: map[contexts.Context][]api.FuzzyMatch{}, Truncations: map[contexts.Context]bool{}}
	for c, matches := range f.found {
		sort.SliceStable(matches, func(i, j int) bool { return f.less(matches[i], matches[j]) })
		out.Truncations[c] = len(matches) > Limit
		if len(matches) > Limit {
			matches = matches[:Limit]
		}
		out.Matches[c] = matches
	}
	return out, nil
}

// fuzzy collects the matches of one fuzzy search.
type fuzzy struct {
	text  string
	want  map[contexts.Context]bool
	found map[contexts.Context][]api.FuzzyMatch
	// seen drops a name found twice in the same scope.
	seen map[string]bool
}

// less orders matches that start with the text first, then by name.
func (f *fuzzy) less(a, b api.FuzzyMatch) bool {
	pa, pb := strings.HasPrefix(strings.ToLower(a.ID), f.text), strings.HasPrefix(strings.ToLower(b.ID), f.text)
	if pa != pb {
		return pa
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return strings.Join(a.Scope, "/") < strings.Join(b.Scope, "/")
}

func (f *fuzzy) match(c contexts.Context, name string, scope ...string) {
	if !f.want[c] || name == "" || !strings.Contains(strings.ToLower(name), f.text) {
		return
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	key := string(c) + "\x00" + name + "\x00" + strings.Join(scope, "\x00")
	if f.seen[key] {
		return
	}
	f.seen[key] = true
	f.found[c] = append(f.found[c], api.FuzzyMatch{ID: name, Scope: scope})
}

func (f *fuzzy) searchJobs(st State, req Request) error {
	jobs, err := st.Jobs(req.Namespace, "")
	if err != nil {
		return err
	}
	for _, j := range jobs {
		ns, id := *j.Namespace, *j.ID
		if !req.inNamespace(ns) || !req.ACL.AllowNamespaceOperation(ns, acl.NamespaceCapabilityReadJob) {
			continue
		}
		f.match(contexts.Jobs, id, ns)
		for _, tg := range j.TaskGroups {
			group := deref(tg.Name)
			f.match(contexts.Groups, group, ns, id)
			for _, s := range tg.Services {
				f.match(contexts.Services, s.Name, ns, id, group)
			}
			for _, t := range tg.Tasks {
				f.match(contexts.Tasks, t.Name, ns, id, group)
				for _, s := range t.Services {
					f.match(contexts.Services, s.Name, ns, id, group, t.Name)
				}
				if img, ok := t.Config["image"].(string); ok {
					f.match(contexts.Images, img, ns, id, group, t.Name)
				}
				if cmd, ok := t.Config["command"].(string); ok {
					f.match(contexts.Commands, cmd, ns, id, group, t.Name)
				}
			}
		}
	}
	return nil
}

func (f *fuzzy) searchOthers(st State, req Request) error {
	if req.ACL.AllowNodeRead() && (f.want[contexts.Nodes] || f.want[contexts.Classes]) {
		nodes, err := st.NodesByPrefix("")
		if err != nil {
			return err
		}
		for _, n := range nodes {
			f.match(contexts.Nodes, n.Name)
			f.match(contexts.Classes, n.NodeClass)
		}
	}
	pools, err := st.NodePools("")
	if err != nil {
		return err
	}
	for _, p := range pools {
		if req.ACL.AllowNodePoolOperation(p.Name, acl.NodePoolCapabilityRead) {
			f.match(contexts.NodePools, p.Name)
		}
	}
	nss, err := st.Namespaces("")
	if err != nil {
		return err
	}
	for _, ns := range nss {
		if req.ACL.AllowNamespace(ns.Name) {
			f.match(contexts.Namespaces, ns.Name)
		}
	}
	vars, err := st.VarsByPrefix(req.Namespace, "")
	if err != nil {
		return err
	}
	for _, v := range vars {
		if req.ACL.AllowVariableOperation(v.Namespace, v.Path, acl.VariablesCapabilityList) {
			f.match(contexts.Variables, v.Path, v.Namespace)
		}
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
