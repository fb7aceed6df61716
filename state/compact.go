package state

import (
	"reflect"
	"unique"

	"github.com/hashicorp/nomad/api"
)

// Allocations are most of a large cluster's state, and each one decoded
// from a Raft entry holds its own copy of every string, map and resource
// block. compactor makes the allocations of one write share what they
// have in common before they are stored: the strings many allocations
// repeat (namespace, node, job, group, evaluation, deployment, statuses)
// are interned, and the resources of an allocation are those of the
// previous one of the same group when equal. (The placement metric and
// the tasks' events are stored encoded: see allocRow.) Stored objects are
// never mutated (see Store), so sharing is safe.
type compactor struct {
	// last is the previous compacted allocation of each task group, by
	// namespace, job and group.
	last map[[3]string]*api.Allocation
	// strings holds the strings interned so far: a map lookup is cheaper
	// than unique.Make, and most strings recur within a write.
	strings map[string]string
}

// intern is the canonical copy of s.
func (c *compactor) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := c.strings[s]; ok {
		return v
	}
	if c.strings == nil {
		c.strings = map[string]string{}
	}
	v := intern(s)
	c.strings[v] = v
	return v
}

// compact makes a share with the allocations compacted before it, or
// with old (the stored version of a, or nil) for the first of its group.
// It changes a in place: a must be a write's own (decoded from its Raft
// entry), not a stored object.
func (c *compactor) compact(a, old *api.Allocation) {
	for _, s := range []*string{&a.Namespace, &a.EvalID, &a.NodeID, &a.NodeName, &a.JobID, &a.TaskGroup,
		&a.DesiredStatus, &a.DesiredDescription, &a.ClientStatus, &a.ClientDescription, &a.DeploymentID} {
		*s = c.intern(*s)
	}
	if c.last == nil {
		c.last = map[[3]string]*api.Allocation{}
	}
	key := [3]string{a.Namespace, a.JobID, a.TaskGroup}
	prev := c.last[key]
	if prev == nil {
		prev = old
	}
	c.last[key] = a
	if prev == nil || prev == a {
		return
	}
	if a.AllocatedResources != prev.AllocatedResources && reflect.DeepEqual(a.AllocatedResources, prev.AllocatedResources) {
		a.AllocatedResources = prev.AllocatedResources
	}
	if a.Resources != prev.Resources && reflect.DeepEqual(a.Resources, prev.Resources) {
		a.Resources = prev.Resources
	}
	if !sameMap(a.TaskResources, prev.TaskResources) && reflect.DeepEqual(a.TaskResources, prev.TaskResources) {
		a.TaskResources = prev.TaskResources
	}
}

// compactTaskStates interns the states of task states, which repeat from
// one allocation to the next (their events are stored encoded: see
// splitTaskEvents). The states must be a write's own, as compact's
// allocation.
func (c *compactor) compactTaskStates(states map[string]*api.TaskState) {
	for _, ts := range states {
		if ts != nil {
			ts.State = c.intern(ts.State)
		}
	}
}

// intern returns the canonical copy of s: every stored string equal to it
// shares one backing array, freed once none refers to it.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// sameMap reports whether a and b are the same map (not merely equal).
func sameMap[M ~map[K]V, K comparable, V any](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
