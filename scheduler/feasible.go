package scheduler

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// filterMissingDrivers is the reason recorded for nodes lacking a task's
// driver, as Nomad records it.
const filterMissingDrivers = "missing drivers"

// groupChecks holds what decides whether a node can run one group,
// compiled once per evaluation, with each node's static verdict cached.
type groupChecks struct {
	group *api.TaskGroup
	name  string
	count int
	ask   *groupAsk
	// jobConstraints and groupConstraints (the group's and its tasks')
	// are the node-only constraints; distinct_* ones are kept apart.
	jobConstraints   []*api.Constraint
	groupConstraints []*api.Constraint
	drivers          []string
	hostVolumes      []hostVolumeAsk
	// distinctHosts: "job" forbids any allocation of the job on the node,
	// "group" any of this group; "" neither.
	distinctHosts string
	distinct      []*distinctProperty
	affinities    []*api.Affinity
	spreads       []*spreadCounter
	// verdicts caches the static check per candidate node index.
	verdicts []verdict
}

type verdict struct {
	checked bool
	reason  string
}

func newGroupChecks(job *api.Job, tg *api.TaskGroup, candidates int) *groupChecks {
	gc := &groupChecks{
		group:       tg,
		name:        deref(tg.Name),
		count:       deref(tg.Count),
		ask:         newGroupAsk(tg),
		hostVolumes: newHostVolumeAsks(tg),
		verdicts:    make([]verdict, candidates),
	}
	gc.jobConstraints = gc.split(job.Constraints, "job")
	gc.groupConstraints = gc.split(tg.Constraints, "group")
	gc.affinities = append(append(gc.affinities, job.Affinities...), tg.Affinities...)
	for _, sp := range append(append([]*api.Spread{}, job.Spreads...), tg.Spreads...) {
		if sp != nil && sp.Attribute != "" {
			gc.spreads = append(gc.spreads, newSpreadCounter(sp, gc.name, gc.count))
		}
	}
	seen := make(map[string]bool)
	for _, t := range tg.Tasks {
		gc.groupConstraints = append(gc.groupConstraints, gc.split(t.Constraints, "group")...)
		gc.affinities = append(gc.affinities, t.Affinities...)
		if t.Driver != "" && !seen[t.Driver] {
			seen[t.Driver] = true
			gc.drivers = append(gc.drivers, t.Driver)
		}
	}
	return gc
}

// split returns the node-only constraints and records the distinct ones
// at the given scope.
func (gc *groupChecks) split(cs []*api.Constraint, scope string) []*api.Constraint {
	var plain []*api.Constraint
	for _, c := range cs {
		if c == nil {
			continue
		}
		switch c.Operand {
		case api.ConstraintDistinctHosts:
			if on, err := strconv.ParseBool(c.RTarget); c.RTarget == "" || (err == nil && on) {
				if gc.distinctHosts == "" || scope == "job" {
					gc.distinctHosts = scope
				}
			}
		case api.ConstraintDistinctProperty:
			gc.distinct = append(gc.distinct, newDistinctProperty(c, scope, gc.name))
		default:
			plain = append(plain, c)
		}
	}
	return plain
}

// staticReason says why node can never run the group during this
// evaluation, or "" when it can: job constraints, drivers, the group's
// and tasks' constraints, host volumes, then devices.
func (gc *groupChecks) staticReason(node *api.Node, m *constraintMatcher, region string) string {
	for _, c := range gc.jobConstraints {
		if !m.meets(c, node, region) {
			return constraintString(c)
		}
	}
	for _, d := range gc.drivers {
		if !hasDriver(node, d) {
			return filterMissingDrivers
		}
	}
	if attr := gc.networkAttr(); attr != "" && node.Attributes[attr] == "" {
		return fmt.Sprintf("missing network mode %q", gc.group.Networks[0].Mode)
	}
	for _, c := range gc.groupConstraints {
		if !m.meets(c, node, region) {
			return constraintString(c)
		}
	}
	if reason := hostVolumesReason(gc.hostVolumes, node); reason != "" {
		return reason
	}
	if gc.ask.hasDevices {
		if reason := devicesReason(gc.ask, node, m); reason != "" {
			return reason
		}
	}
	return ""
}

// networkAttr is the node attribute the group's network mode needs
// (structs.NetworkAttr*), or "" for host mode.
func (gc *groupChecks) networkAttr() string {
	if len(gc.group.Networks) == 0 || gc.group.Networks[0] == nil {
		return ""
	}
	switch gc.group.Networks[0].Mode {
	case "bridge":
		return structs.NodeAttrNetworkBridge
	case "none":
		return structs.NodeAttrNetworkNamespaces
	}
	return ""
}

// cachedReason is staticReason for the candidate at index i, computed once.
func (gc *groupChecks) cachedReason(i int, node *api.Node, m *constraintMatcher, region string) string {
	v := &gc.verdicts[i]
	if !v.checked {
		v.reason = gc.staticReason(node, m, region)
		v.checked = true
	}
	return v.reason
}

// hasDriver reports whether the node runs the driver: detected and healthy
// in its driver info, or fingerprinted as the attribute driver.<name>.
func hasDriver(node *api.Node, driver string) bool {
	if info, ok := node.Drivers[driver]; ok && info != nil {
		return info.Detected && info.Healthy
	}
	on, err := strconv.ParseBool(node.Attributes["driver."+driver])
	return err == nil && on
}

// distinctReason says why placing on node would break distinct_hosts or
// distinct_property, or "".
func (gc *groupChecks) distinctReason(node *api.Node, u *nodeUsage, region string) string {
	switch gc.distinctHosts {
	case "job":
		for _, n := range u.groupAllocs {
			if n > 0 {
				return api.ConstraintDistinctHosts
			}
		}
	case "group":
		if u.groupAllocs[gc.name] > 0 {
			return api.ConstraintDistinctHosts
		}
	}
	for _, d := range gc.distinct {
		if reason := d.reason(node, region); reason != "" {
			return reason
		}
	}
	return ""
}

// distinctProperty enforces one distinct_property constraint: at most
// limit allocations (of the job, or of one group) per value of a property.
type distinctProperty struct {
	constraint *api.Constraint
	group      string // "" for a job-level constraint
	limit      int
	counts     map[string]int // nil until the existing allocations are counted
}

func newDistinctProperty(c *api.Constraint, scope, group string) *distinctProperty {
	d := &distinctProperty{constraint: c, limit: 1}
	if scope == "group" {
		d.group = group
	}
	if n, err := strconv.Atoi(c.RTarget); err == nil && n > 0 {
		d.limit = n
	}
	return d
}

func (d *distinctProperty) applies(a *api.Allocation) bool {
	return d.group == "" || a.TaskGroup == d.group
}

// count adds delta for alloc's node's value of the property.
func (d *distinctProperty) count(a *api.Allocation, node *api.Node, region string, delta int) {
	if d.counts == nil || node == nil || !d.applies(a) {
		return
	}
	if v, ok := resolveTarget(d.constraint.LTarget, node, region); ok {
		d.counts[v] += delta
	}
}

func (d *distinctProperty) reason(node *api.Node, region string) string {
	v, ok := resolveTarget(d.constraint.LTarget, node, region)
	if !ok {
		return fmt.Sprintf("missing property %q", d.constraint.LTarget)
	}
	if used := d.counts[v]; used >= d.limit {
		return fmt.Sprintf("distinct_property: %s=%s used by %d allocs", d.constraint.LTarget, v, used)
	}
	return ""
}

// nodeInDatacenters reports whether the node's datacenter matches one of
// the job's, "*" globs included; no datacenters means any.
func nodeInDatacenters(node *api.Node, dcs []string) bool {
	if len(dcs) == 0 {
		return true
	}
	for _, dc := range dcs {
		if globMatch(dc, node.Datacenter) {
			return true
		}
	}
	return false
}

// nodeInPool reports whether the node belongs to the job's node pool.
func nodeInPool(node *api.Node, pool string) bool {
	return pool == structs.NodePoolAll || structs.NodePoolOf(node) == pool
}

// nodePool is the node's pool, "default" when it names none.
func nodePool(node *api.Node) string {
	return structs.NodePoolOf(node)
}
