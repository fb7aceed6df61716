package acl

// workloadGrant is the implicit policy of a task's workload identity: read
// and list on the variables of its own job, group and task, in its own
// namespace, whatever else its ACL says.
type workloadGrant struct {
	namespace string
	paths     map[string]bool
}

// WorkloadPaths are the variable paths a task's identity may read and list
// with no policy at all, as Nomad's: nomad/jobs, nomad/jobs/<job>,
// nomad/jobs/<job>/<group> and nomad/jobs/<job>/<group>/<task>.
func WorkloadPaths(job, group, task string) []string {
	base := "nomad/jobs"
	return []string{base, base + "/" + job, base + "/" + job + "/" + group, base + "/" + job + "/" + group + "/" + task}
}

// WithWorkload returns a copy of a that also grants read and list on the
// variables at exactly paths in namespace ns: the ACL of a workload
// identity, a compiled from the policies attached to its job.
func (a *ACL) WithWorkload(ns string, paths []string) *ACL {
	c := *a
	g := &workloadGrant{namespace: ns, paths: map[string]bool{}}
	for _, p := range paths {
		g.paths[p] = true
	}
	c.workload = g
	return &c
}

// allows reports whether the grant covers op on path in ns ("*": in the
// grant's namespace).
func (g *workloadGrant) allows(ns, path, op string) bool {
	if g == nil || (ns != g.namespace && ns != "*") {
		return false
	}
	return g.paths[path] && (op == VariablesCapabilityRead || op == VariablesCapabilityList)
}

// AllowServiceRead reports whether service registrations of namespace ns
// may be read: with read-job there, or by a workload identity of ns (its
// implicit policy, as Nomad's, reads its namespace's services).
func (a *ACL) AllowServiceRead(ns string) bool {
	if a.workload != nil && (ns == a.workload.namespace || ns == "*") {
		return true
	}
	return a.AllowNamespaceOperation(ns, NamespaceCapabilityReadJob)
}
