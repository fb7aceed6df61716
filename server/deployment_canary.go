package server

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// awaitsPromotion reports whether a deployment group has canaries and is
// not promoted yet.
func awaitsPromotion(st *api.DeploymentState) bool {
	return st.DesiredCanaries > 0 && !st.Promoted
}

// healthyCanaries counts, per group, the live canaries of d that their
// client reported healthy.
func healthyCanaries(d *api.Deployment, allocs []*api.Allocation) map[string]int {
	out := make(map[string]int)
	for _, a := range allocs {
		h := a.DeploymentStatus
		if a.DeploymentID != d.ID || h == nil || !h.Canary || structs.AllocTerminal(a) {
			continue
		}
		if h.Healthy != nil && *h.Healthy {
			out[a.TaskGroup]++
		}
	}
	return out
}

// readyForPromotion reports whether every group of d that awaits
// promotion has all its canaries healthy, so that only a promotion (by a
// user) lets the deployment go on.
func readyForPromotion(d *api.Deployment, canaries map[string]int) bool {
	waiting := false
	for name, st := range d.TaskGroups {
		if !awaitsPromotion(st) {
			continue
		}
		if canaries[name] < st.DesiredCanaries {
			return false
		}
		waiting = true
	}
	return waiting
}

// autoPromotable reports whether d has groups awaiting promotion, all of
// them with update auto_promote and all their canaries healthy.
func autoPromotable(job *api.Job, d *api.Deployment, canaries map[string]int) bool {
	if job == nil || derefU64(job.Version) != d.JobVersion {
		return false
	}
	waiting := 0
	for name, st := range d.TaskGroups {
		if !awaitsPromotion(st) {
			continue
		}
		tg := job.LookupTaskGroup(name)
		if tg == nil || tg.Update == nil || !derefBool(tg.Update.AutoPromote) || canaries[name] < st.DesiredCanaries {
			return false
		}
		waiting++
	}
	return waiting > 0
}

// PromoteDeployment promotes the canaries of the named groups of an
// active deployment (all groups when all is set or none are named), so
// that the rolling update of the remaining allocations proceeds. Every
// promoted group's canaries must be healthy.
func (s *Server) PromoteDeployment(id string, groups []string, all bool) (*api.DeploymentUpdateResponse, error) {
	snap, d, err := s.activeDeployment(id)
	if err != nil {
		return nil, err
	}
	if all {
		groups = nil
	}
	for _, g := range groups {
		if d.TaskGroups[g] == nil {
			return nil, fmt.Errorf("%w: Deployment does not include task group %q", ErrInvalid, g)
		}
	}
	return s.promoteGroups(snap, d, groups)
}

// promoteGroups commits d with the named groups (nil: all) promoted and
// asks the scheduler for the next batch.
func (s *Server) promoteGroups(snap *state.Snapshot, d *api.Deployment, groups []string) (*api.DeploymentUpdateResponse, error) {
	allocs, err := snap.AllocsByJob(d.Namespace, d.JobID)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: read allocations: %w", d.ID, err)
	}
	healthy := healthyCanaries(d, allocs)
	next := *d
	next.TaskGroups = make(map[string]*api.DeploymentState, len(d.TaskGroups))
	promoted := 0
	for _, name := range slices.Sorted(maps.Keys(d.TaskGroups)) {
		st := *d.TaskGroups[name]
		next.TaskGroups[name] = &st
		if (groups != nil && !slices.Contains(groups, name)) || !awaitsPromotion(&st) {
			continue
		}
		if healthy[name] < st.DesiredCanaries {
			return nil, fmt.Errorf("%w: Task group %q has %d/%d healthy allocations", ErrInvalid, name, healthy[name], st.DesiredCanaries)
		}
		st.Promoted = true
		promoted++
	}
	if promoted == 0 {
		return nil, fmt.Errorf("%w: no canaries to promote", ErrInvalid)
	}
	if next.StatusDescription == structs.DeploymentDescNeedsPromotion {
		next.StatusDescription = structs.DeploymentDescRunning
	}
	req := &structs.DeploymentUpsertRequest{Deployments: []*api.Deployment{&next}, Time: time.Now().UnixNano()}
	if err := s.addDeploymentEval(snap, req, d); err != nil {
		return nil, err
	}
	return s.commitDeployment(req)
}
