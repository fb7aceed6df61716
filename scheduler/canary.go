package scheduler

import (
	"cmp"
	"slices"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// canaryGroup is how a rolling group with update canary > 0 stands in the
// deployment of the evaluated job version.
type canaryGroup struct {
	// deploymentID is the deployment the canaries belong to; empty while
	// the deployment is yet to be created by this evaluation.
	deploymentID string
	desired      int
	promoted     bool
	// hold places no new canaries (the deployment is paused).
	hold bool
}

// deploymentGroup names one group of one deployment.
type deploymentGroup struct {
	deploymentID string
	group        string
}

// isCanary reports whether the allocation was placed as a canary.
func isCanary(a *api.Allocation) bool {
	return a.DeploymentStatus != nil && a.DeploymentStatus.Canary
}

// planCanaries works out, per group, the canaries of the evaluated version
// and which deployments' unpromoted canaries must stop: those of the
// latest deployment once it failed or no longer tracks the job.
func (run *evalRun) planCanaries(latest, current *api.Deployment) (map[string]*canaryGroup, map[deploymentGroup]bool) {
	groups := make(map[string]*canaryGroup)
	stale := make(map[deploymentGroup]bool)
	if latest != nil && (latest != current || latest.Status == structs.DeploymentStatusFailed) {
		for name, st := range latest.TaskGroups {
			if st.DesiredCanaries > 0 && !st.Promoted {
				stale[deploymentGroup{latest.ID, name}] = true
			}
		}
	}
	if !run.deploys() {
		return groups, stale
	}
	for _, tg := range run.job.TaskGroups {
		if !rolling(tg) || deref(tg.Update.Canary) <= 0 {
			continue
		}
		name := deref(tg.Name)
		if current == nil {
			groups[name] = &canaryGroup{desired: deref(tg.Update.Canary)}
			continue
		}
		st := current.TaskGroups[name]
		if structs.DeploymentActive(current) && st != nil && st.DesiredCanaries > 0 {
			groups[name] = &canaryGroup{
				deploymentID: current.ID, desired: st.DesiredCanaries, promoted: st.Promoted,
				hold: current.Status != structs.DeploymentStatusRunning,
			}
		}
	}
	return groups, stale
}

// splitCanaries takes a group's canaries out of allocs: it stops stale
// ones, keeps unpromoted ones of the current deployment aside (holding the
// group's destructive updates and placing missing canaries), and once the
// group is promoted stops the old allocations its canaries stand in for.
// It returns the allocations left to reconcile as usual.
func (r *reconciler) splitCanaries(tg *api.TaskGroup, allocs []*api.Allocation, d *api.DesiredUpdates) []*api.Allocation {
	name := deref(tg.Name)
	cg := r.canaries[name]
	var rest, live []*api.Allocation
	for _, a := range allocs {
		if !isCanary(a) || structs.AllocServerTerminal(a) {
			rest = append(rest, a)
			continue
		}
		switch {
		case r.staleCanaries[deploymentGroup{a.DeploymentID, name}]:
			if !structs.AllocClientTerminal(a) {
				r.stop(a, allocNotNeeded, "")
				d.Stop++
			}
		case cg != nil && cg.deploymentID == a.DeploymentID && !cg.promoted:
			if !structs.AllocClientTerminal(a) {
				live = append(live, a)
				d.Ignore++
			}
		default:
			rest = append(rest, a)
		}
	}
	switch {
	case cg == nil:
		return rest
	case cg.promoted:
		return r.retireReplaced(cg, rest, d)
	}
	r.placeCanaries(tg, cg, live, r.outdated(name, rest), d)
	return rest
}

// outdated lists the live allocations that a destructive update would
// replace, by name index.
func (r *reconciler) outdated(group string, allocs []*api.Allocation) []*api.Allocation {
	var out []*api.Allocation
	for _, a := range allocs {
		if isCanary(a) || structs.AllocTerminal(a) || r.nodeLost(a) {
			continue
		}
		if jobChanged(a.Job, r.job) && r.destructive(a.Job, group) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(x, y *api.Allocation) int { return cmp.Compare(allocIndex(x.Name), allocIndex(y.Name)) })
	return out
}

// placeCanaries asks for the canaries the group still lacks, named after
// the old allocations they preview, and holds the group's destructive
// updates until promotion. A new deployment places canaries only when the
// version change replaces allocations.
func (r *reconciler) placeCanaries(tg *api.TaskGroup, cg *canaryGroup, live, old []*api.Allocation, d *api.DesiredUpdates) {
	name := deref(tg.Name)
	if cg.deploymentID == "" && len(old) == 0 {
		return
	}
	r.budget[name] = 0
	r.result.canaries[name] = cg.desired
	if cg.hold || len(old) == 0 {
		return
	}
	used := make(map[string]bool, len(live))
	for _, a := range live {
		used[a.Name] = true
	}
	names := make([]string, 0, len(old))
	for _, a := range old {
		if !used[a.Name] {
			names = append(names, a.Name)
		}
	}
	for i := 0; i < cg.desired-len(live) && len(names) > 0; i++ {
		r.result.places = append(r.result.places, placement{group: tg, name: names[i%len(names)], canary: true})
		d.Canary++
	}
}

// retireReplaced stops, for each live canary of a promoted group, the old
// allocation of the same name: the canary counts as its update. It
// returns allocs without the stopped ones.
func (r *reconciler) retireReplaced(cg *canaryGroup, allocs []*api.Allocation, d *api.DesiredUpdates) []*api.Allocation {
	canaryNames := make(map[string]bool)
	for _, a := range allocs {
		if isCanary(a) && a.DeploymentID == cg.deploymentID && !structs.AllocTerminal(a) {
			canaryNames[a.Name] = true
		}
	}
	return slices.DeleteFunc(allocs, func(a *api.Allocation) bool {
		if isCanary(a) || structs.AllocTerminal(a) || !canaryNames[a.Name] || !jobChanged(a.Job, r.job) {
			return false
		}
		delete(canaryNames, a.Name)
		r.stop(a, allocNotNeeded, "")
		d.Stop++
		return true
	})
}
