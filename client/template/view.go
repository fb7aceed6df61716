package template

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"text/template"

	"github.com/hashicorp/nomad/api"
)

// view is one render's window onto the watcher: the Nomad lookup
// functions read through it, and it records the lookups that have no data
// yet (the template cannot be written until they have) and the first
// error a lookup answered with.
type view struct {
	w         *watcher
	sub       chan struct{}
	namespace string
	region    string
	// rendered is set once the template has been written: from then on an
	// empty service list renders as empty rather than being waited for.
	rendered bool
	missing  []lookup
	err      error
}

// get returns l's value, or false when the template must wait for it.
func (v *view) get(l lookup) (any, bool) {
	val, ready, err := v.w.get(l, v.sub)
	if err != nil {
		if v.err == nil {
			v.err = fmt.Errorf("%s: %w", l, err)
		}
		return nil, false
	}
	if !ready {
		v.wait(l)
		return nil, false
	}
	return val, true
}

func (v *view) wait(l lookup) {
	if !slices.Contains(v.missing, l) {
		v.missing = append(v.missing, l)
	}
}

// funcs are the lookup functions bound to this view.
func (v *view) funcs() template.FuncMap {
	return template.FuncMap{
		"nomadVar":       v.nomadVar,
		"nomadVarExists": v.nomadVarExists,
		"nomadVarList":   v.nomadVarList,
		"nomadService":   v.nomadService,
		"nomadServices":  v.nomadServices,
	}
}

// nomadVar returns a variable's items ("path" or "path@namespace"); the
// template waits while the variable does not exist.
func (v *view) nomadVar(spec string) (VarItems, error) {
	path, ns := splitNamespace(spec, v.namespace)
	l := lookup{kind: lookupVar, namespace: ns, key: path}
	val, ok := v.get(l)
	if !ok {
		return nil, nil
	}
	variable, _ := val.(*api.Variable)
	if variable == nil {
		v.wait(l)
		return nil, nil
	}
	items := make(VarItems, len(variable.Items))
	for k, val := range variable.Items {
		items[k] = VarItem{Key: k, Value: val}
	}
	return items, nil
}

// nomadVarExists reports whether a variable exists, without waiting for it.
func (v *view) nomadVarExists(spec string) bool {
	path, ns := splitNamespace(spec, v.namespace)
	val, ok := v.get(lookup{kind: lookupVar, namespace: ns, key: path})
	variable, _ := val.(*api.Variable)
	return ok && variable != nil
}

// nomadVarList lists the metadata of the variables under a prefix
// ("prefix" or "prefix@namespace"; none: all the namespace's).
func (v *view) nomadVarList(spec ...string) ([]*api.VariableMetadata, error) {
	if len(spec) > 1 {
		return nil, fmt.Errorf("nomadVarList: want at most one prefix, got %d arguments", len(spec))
	}
	prefix, ns := "", v.namespace
	if len(spec) == 1 {
		prefix, ns = splitNamespace(spec[0], v.namespace)
	}
	val, ok := v.get(lookup{kind: lookupVarList, namespace: ns, key: prefix})
	if !ok {
		return nil, nil
	}
	list, _ := val.([]*api.VariableMetadata)
	return list, nil
}

// nomadService lists a service's instances: nomadService "[tag.]name",
// nomadService "name" "namespace", or nomadService COUNT KEY "name", which
// picks COUNT instances by rendezvous hashing on KEY (the same key picks
// the same instances while they exist).
func (v *view) nomadService(args ...any) ([]*Service, error) {
	var query, ns string
	count, key := -1, ""
	switch len(args) {
	case 1:
		query, _ = args[0].(string)
	case 2:
		query, _ = args[0].(string)
		ns, _ = args[1].(string)
	case 3:
		n, ok := args[0].(int)
		if !ok || n < 0 {
			return nil, fmt.Errorf("nomadService: the count must be a non-negative integer, got %v", args[0])
		}
		count = n
		key = fmt.Sprint(args[1])
		query, _ = args[2].(string)
	default:
		return nil, fmt.Errorf("nomadService: want 1 to 3 arguments, got %d", len(args))
	}
	if query == "" {
		return nil, fmt.Errorf("nomadService: the service name must be a non-empty string, got %v", args)
	}
	tag, name, err := parseServiceQuery(query, v.region)
	if err != nil {
		return nil, err
	}
	if ns == "" {
		ns = v.namespace
	}
	l := lookup{kind: lookupService, namespace: ns, key: name}
	val, ok := v.get(l)
	if !ok {
		return nil, nil
	}
	regs, _ := val.([]*api.ServiceRegistration)
	var out []*Service
	for _, r := range regs {
		if tag == "" || slices.Contains(r.Tags, tag) {
			out = append(out, &Service{ID: r.ID, Name: r.ServiceName, Namespace: r.Namespace, NodeID: r.NodeID,
				Datacenter: r.Datacenter, JobID: r.JobID, AllocID: r.AllocID, Tags: r.Tags, Address: r.Address, Port: r.Port})
		}
	}
	if len(out) == 0 && !v.rendered {
		v.wait(l)
		return nil, nil
	}
	// Instances in a stable order, whatever order the catalogue lists.
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if count >= 0 {
		out = rendezvous(out, key, count)
	}
	return out, nil
}

// rendezvous keeps the count instances that rank highest for key
// (highest random weight hashing), in rank order.
func rendezvous(in []*Service, key string, count int) []*Service {
	score := func(s *Service) uint64 {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(s.ID))
		return h.Sum64()
	}
	out := slices.Clone(in)
	sort.SliceStable(out, func(i, j int) bool { return score(out[i]) > score(out[j]) })
	return out[:min(count, len(out))]
}

// nomadServices lists the services of a namespace (this task's, or the one
// given), each with the union of its instances' tags.
func (v *view) nomadServices(ns ...string) ([]*ServiceSummary, error) {
	if len(ns) > 1 {
		return nil, fmt.Errorf("nomadServices: want at most one namespace, got %d arguments", len(ns))
	}
	namespace := v.namespace
	if len(ns) == 1 && ns[0] != "" {
		namespace = ns[0]
	}
	val, ok := v.get(lookup{kind: lookupServices, namespace: namespace})
	if !ok {
		return nil, nil
	}
	regs, _ := val.([]*api.ServiceRegistration)
	var out []*ServiceSummary
	byName := map[string]*ServiceSummary{}
	for _, r := range regs {
		s := byName[r.ServiceName]
		if s == nil {
			s = &ServiceSummary{Name: r.ServiceName, Tags: []string{}}
			byName[r.ServiceName] = s
			out = append(out, s)
		}
		for _, t := range r.Tags {
			if !slices.Contains(s.Tags, t) {
				s.Tags = append(s.Tags, t)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for _, s := range out {
		sort.Strings(s.Tags)
	}
	return out, nil
}
