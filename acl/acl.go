package acl

import (
	"sort"
	"strings"
)

// ACL is the compiled, merged form of a token's policies. Its methods are
// safe for concurrent use; an ACL is never modified after Compile.
type ACL struct {
	management bool
	namespaces *matcher[*namespaceCaps]
	hostVols   *matcher[capSet]
	nodePools  *matcher[capSet]
	node       string
	agent      string
	operator   string
	quota      string
	plugin     string
	// workload is the implicit grant of a workload identity; nil for
	// ACL tokens.
	workload *workloadGrant
}

// capSet is a set of capabilities.
type capSet map[string]struct{}

func (c capSet) add(caps ...string) {
	for _, cap := range caps {
		c[cap] = struct{}{}
	}
}

// allows reports whether cap is in the set and deny is not.
func (c capSet) allows(cap string) bool {
	if _, deny := c["deny"]; deny {
		return false
	}
	_, ok := c[cap]
	return ok
}

// namespaceCaps are the merged rules of one namespace name (or glob).
type namespaceCaps struct {
	caps capSet
	vars *matcher[capSet]
}

// ManagementACL allows everything.
var ManagementACL = &ACL{management: true}

// DenyAll is the ACL of a token with no policies.
var DenyAll = Compile(nil)

// Compile merges policies into one ACL: capabilities add up across
// policies, and deny wins over anything granted elsewhere.
func Compile(policies []*Policy) *ACL {
	a := &ACL{namespaces: newMatcher[*namespaceCaps](), hostVols: newMatcher[capSet](), nodePools: newMatcher[capSet]()}
	for _, p := range policies {
		for _, ns := range p.Namespaces {
			nc := a.namespaces.get(ns.Name, func() *namespaceCaps {
				return &namespaceCaps{caps: capSet{}, vars: newMatcher[capSet]()}
			})
			nc.caps.add(ns.Capabilities...)
			for _, v := range ns.Variables {
				nc.vars.get(v.Path, func() capSet { return capSet{} }).add(v.Capabilities...)
			}
		}
		for _, hv := range p.HostVolumes {
			a.hostVols.get(hv.Name, func() capSet { return capSet{} }).add(hv.Capabilities...)
		}
		for _, np := range p.NodePools {
			a.nodePools.get(np.Name, func() capSet { return capSet{} }).add(np.Capabilities...)
		}
		a.node = mergeLevel(a.node, p.Node)
		a.agent = mergeLevel(a.agent, p.Agent)
		a.operator = mergeLevel(a.operator, p.Operator)
		a.quota = mergeLevel(a.quota, p.Quota)
		a.plugin = mergeLevel(a.plugin, p.Plugin)
	}
	return a
}

// IsManagement reports a management token's ACL.
func (a *ACL) IsManagement() bool { return a.management }

// AllowNamespaceOperation reports whether cap is allowed in namespace ns.
// For ns "*" it reports whether cap is allowed in any namespace; callers
// then filter each object by its own namespace.
func (a *ACL) AllowNamespaceOperation(ns, cap string) bool {
	if a.management {
		return true
	}
	if ns == "*" {
		return a.namespaces.any(func(nc *namespaceCaps) bool { return nc.caps.allows(cap) })
	}
	nc, ok := a.namespaces.match(ns)
	return ok && nc.caps.allows(cap)
}

// AllowNamespace reports whether the token may do anything at all in ns.
func (a *ACL) AllowNamespace(ns string) bool {
	if a.management || (a.workload != nil && a.workload.namespace == ns) {
		return true
	}
	nc, ok := a.namespaces.match(ns)
	if !ok {
		return false
	}
	if _, deny := nc.caps["deny"]; deny {
		return false
	}
	return len(nc.caps) > 0 || len(nc.vars.exact)+len(nc.vars.globs) > 0
}

// AllowVariableOperation reports whether op (read, write, list, destroy)
// is allowed on the variable at path in namespace ns. With ns "*" it
// reports whether op is allowed on path in any namespace.
func (a *ACL) AllowVariableOperation(ns, path, op string) bool {
	if a.management || a.workload.allows(ns, path, op) {
		return true
	}
	check := func(nc *namespaceCaps) bool {
		if _, deny := nc.caps["deny"]; deny {
			return false
		}
		caps, ok := nc.vars.match(path)
		return ok && caps.allows(op)
	}
	if ns == "*" {
		return a.namespaces.any(check)
	}
	nc, ok := a.namespaces.match(ns)
	return ok && check(nc)
}

// AllowHostVolumeOperation reports whether cap is allowed on the host
// volume named name.
func (a *ACL) AllowHostVolumeOperation(name, cap string) bool {
	if a.management {
		return true
	}
	caps, ok := a.hostVols.match(name)
	return ok && caps.allows(cap)
}

// AllowNodePoolOperation reports whether cap (read, write, delete) is
// allowed on the node pool named pool.
func (a *ACL) AllowNodePoolOperation(pool, cap string) bool {
	if a.management {
		return true
	}
	caps, ok := a.nodePools.match(pool)
	return ok && caps.allows(cap)
}

func allowRead(level string) bool  { return level == PolicyRead || level == PolicyWrite }
func allowWrite(level string) bool { return level == PolicyWrite }

// AllowNodeRead reports node read access.
func (a *ACL) AllowNodeRead() bool { return a.management || allowRead(a.node) }

// AllowNodeWrite reports node write access.
func (a *ACL) AllowNodeWrite() bool { return a.management || allowWrite(a.node) }

// AllowAgentRead reports agent read access.
func (a *ACL) AllowAgentRead() bool { return a.management || allowRead(a.agent) }

// AllowAgentWrite reports agent write access.
func (a *ACL) AllowAgentWrite() bool { return a.management || allowWrite(a.agent) }

// AllowOperatorRead reports operator read access.
func (a *ACL) AllowOperatorRead() bool { return a.management || allowRead(a.operator) }

// AllowOperatorWrite reports operator write access.
func (a *ACL) AllowOperatorWrite() bool { return a.management || allowWrite(a.operator) }

// AllowQuotaRead reports quota read access.
func (a *ACL) AllowQuotaRead() bool { return a.management || allowRead(a.quota) }

// AllowQuotaWrite reports quota write access.
func (a *ACL) AllowQuotaWrite() bool { return a.management || allowWrite(a.quota) }

// AllowPluginList reports plugin list access.
func (a *ACL) AllowPluginList() bool {
	return a.management || a.plugin == PolicyList || a.plugin == PolicyRead
}

// AllowPluginRead reports plugin read access.
func (a *ACL) AllowPluginRead() bool { return a.management || a.plugin == PolicyRead }

// matcher finds the rule for a name among exact names and globs: an exact
// name wins; otherwise the matching glob closest to the name (the fewest
// characters left to its wildcards) does, as in Nomad.
type matcher[T any] struct {
	exact map[string]T
	globs map[string]T
	// order lists the globs sorted, so that ties resolve the same way
	// every time.
	order []string
}

func newMatcher[T any]() *matcher[T] {
	return &matcher[T]{exact: map[string]T{}, globs: map[string]T{}}
}

// get returns the rule for pattern, creating it with mk when missing.
func (m *matcher[T]) get(pattern string, mk func() T) T {
	if !strings.Contains(pattern, "*") {
		v, ok := m.exact[pattern]
		if !ok {
			v = mk()
			m.exact[pattern] = v
		}
		return v
	}
	v, ok := m.globs[pattern]
	if !ok {
		v = mk()
		m.globs[pattern] = v
		m.order = append(m.order, pattern)
		sort.Strings(m.order)
	}
	return v
}

func (m *matcher[T]) match(name string) (T, bool) {
	if v, ok := m.exact[name]; ok {
		return v, true
	}
	var best T
	bestDiff, found := 0, false
	for _, g := range m.order {
		if !globMatch(g, name) {
			continue
		}
		diff := len(name) - (len(g) - strings.Count(g, "*"))
		if !found || diff < bestDiff {
			best, bestDiff, found = m.globs[g], diff, true
		}
	}
	return best, found
}

// any reports whether ok holds for any rule.
func (m *matcher[T]) any(ok func(T) bool) bool {
	for _, v := range m.exact {
		if ok(v) {
			return true
		}
	}
	for _, v := range m.globs {
		if ok(v) {
			return true
		}
	}
	return false
}

// globMatch matches name against pattern, where '*' stands for any run of
// characters (slashes included). It does not allocate: list endpoints call
// it for every object they return.
func globMatch(pattern, name string) bool {
	first, rest, found := strings.Cut(pattern, "*")
	if !found {
		return pattern == name
	}
	if !strings.HasPrefix(name, first) {
		return false
	}
	name = name[len(first):]
	for {
		part, more, found := strings.Cut(rest, "*")
		if !found {
			// part is the pattern's tail: name must end with it.
			return strings.HasSuffix(name, part)
		}
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name, rest = name[i+len(part):], more
	}
}
