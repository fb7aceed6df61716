package scheduler

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// Descriptions of why an allocation stops, as Nomad words them.
const (
	allocNotNeeded   = "alloc not needed due to job update"
	allocUpdating    = "alloc is being updated due to job update"
	allocMigrating   = "alloc is being migrated"
	allocLost        = "alloc is lost since its node is down"
	allocRescheduled = "alloc was rescheduled because it failed"
)

// placement asks for one new allocation of a group.
type placement struct {
	group *api.TaskGroup
	name  string
	// previous is the allocation this one replaces, if any.
	previous *api.Allocation
	// reschedule marks the replacement of a failed allocation: it carries
	// the reschedule tracker and avoids the failed allocation's node.
	reschedule bool
	// stopDesc, when set, stops previous once this placement succeeds.
	stopDesc string
	// stopFirst stops previous before choosing a node, so that its node may
	// take the replacement; the stop is withdrawn if no node is found.
	stopFirst bool
	// node pins the placement to one node (system jobs).
	node *api.Node
	// canary places a canary of the new version beside the old ones.
	canary bool
	// fresh, when set, stands for fresh.left new allocations of group,
	// named as they are placed; name is unused then.
	fresh *freshNames
}

// allocStop asks to stop an allocation.
type allocStop struct {
	alloc        *api.Allocation
	desc         string
	clientStatus string
}

// reconcileResult is what must change for the job's allocations to match
// the job.
type reconcileResult struct {
	stops   []allocStop
	inPlace []*api.Allocation
	places  []placement
	// later lists failed allocations to reschedule once their delay is
	// over, with the time it is.
	later []delayedReschedule
	// lostLater lists lost allocations whose replacement waits until
	// their client has stopped them (stop_on_client_after).
	lostLater []delayedReschedule
	// disconnects lists live allocations on disconnected nodes to mark
	// unknown.
	disconnects []pendingDisconnect
	desired     map[string]*api.DesiredUpdates
	// canaries holds, per group whose update goes through canaries, how
	// many the deployment wants.
	canaries map[string]int
}

// reconciler compares a job with its allocations, group by group.
type reconciler struct {
	job    *api.Job // nil when the job was purged
	evalID string
	allocs []*api.Allocation
	nodes  map[string]*api.Node
	batch  bool
	system bool
	now    time.Time
	// fitsInPlace reports whether alloc's node still suits the group's new
	// version, so that alloc can be updated without moving.
	fitsInPlace func(alloc *api.Allocation, group *api.TaskGroup) bool
	// withMetrics returns an allocation with its placement metric, which
	// the state's lists may leave out; nil leaves allocations as they are.
	withMetrics func(alloc *api.Allocation) *api.Allocation
	result      reconcileResult
	// destructiveMemo remembers destructiveChange per old job and group.
	destructiveMemo map[versionGroup]bool
	// budget limits, per rolling group, the destructive updates that may
	// start now (update max_parallel); groups absent are not limited.
	budget map[string]int
	// canaries describes, per group with update canary > 0, the canaries
	// of the evaluated version's deployment.
	canaries map[string]*canaryGroup
	// staleCanaries names deployment groups whose canaries must stop.
	staleCanaries map[deploymentGroup]bool
	// restored holds the IDs of reconnected allocations whose client
	// status the plan must write back.
	restored map[string]bool
}

type versionGroup struct {
	job   *api.Job
	group string
}

// destructive is destructiveChange from old to the current job, computed
// once per old job version and group.
func (r *reconciler) destructive(old *api.Job, group string) bool {
	key := versionGroup{old, group}
	d, ok := r.destructiveMemo[key]
	if !ok {
		if r.destructiveMemo == nil {
			r.destructiveMemo = make(map[versionGroup]bool)
		}
		d = destructiveChange(old, r.job, group)
		r.destructiveMemo[key] = d
	}
	return d
}

// reconcile computes the stops, in-place updates and placements that bring
// the allocations in line with the job.
func (r *reconciler) reconcile() reconcileResult {
	r.result.desired = make(map[string]*api.DesiredUpdates)
	r.result.canaries = make(map[string]int)
	r.restored = make(map[string]bool)
	replaced := make(map[string]bool)
	byGroup := make(map[string][]*api.Allocation)
	for _, a := range r.allocs {
		// A replacement stopped because its original reconnected no
		// longer replaces it.
		if a.PreviousAllocation != "" && a.DesiredDescription != allocReconnected {
			replaced[a.PreviousAllocation] = true
		}
		byGroup[a.TaskGroup] = append(byGroup[a.TaskGroup], a)
	}
	stopped := r.job == nil || deref(r.job.Stop)
	if !stopped {
		for _, tg := range r.job.TaskGroups {
			name := deref(tg.Name)
			r.reconcileGroup(tg, byGroup[name], replaced)
			delete(byGroup, name)
		}
	}
	// Groups of a stopped or purged job, and groups the job no longer has.
	for _, name := range slices.Sorted(maps.Keys(byGroup)) {
		r.stopGroup(name, byGroup[name])
	}
	return r.result
}

func (r *reconciler) desiredFor(group string) *api.DesiredUpdates {
	d, ok := r.result.desired[group]
	if !ok {
		d = &api.DesiredUpdates{}
		r.result.desired[group] = d
	}
	return d
}

// stopGroup stops every allocation of a group that must no longer run.
// Finished and failed ones are marked for stop too, so that none of them
// is rescheduled or counts for the job once it runs again.
func (r *reconciler) stopGroup(name string, allocs []*api.Allocation) {
	d := r.desiredFor(name)
	for _, a := range allocs {
		if structs.AllocServerTerminal(a) {
			continue
		}
		switch {
		case structs.AllocClientTerminal(a):
			r.stop(a, allocNotNeeded, "")
			continue
		case r.nodeLost(a):
			r.stop(a, allocLost, structs.AllocClientStatusLost)
		default:
			r.stop(a, allocNotNeeded, "")
		}
		d.Stop++
	}
}

func (r *reconciler) stop(a *api.Allocation, desc, clientStatus string) {
	r.result.stops = append(r.result.stops, allocStop{alloc: a, desc: desc, clientStatus: clientStatus})
}

// nodeLost reports whether the allocation's node is gone, down or
// disconnected. Allocations of groups that tolerate disconnects are dealt
// with by splitDisconnected before this is asked.
func (r *reconciler) nodeLost(a *api.Allocation) bool {
	n := r.nodes[a.NodeID]
	return n == nil || n.Status == structs.NodeStatusDown || n.Status == api.NodeStatusDisconnected
}

// slot is an allocation name in use: by a live allocation, by a finished
// one that still counts, or by a replacement still to be placed.
type slot struct {
	index int
	live  *api.Allocation // running or pending here, may need an update
	place *placement      // a replacement to place
}

// reconcileGroup handles one group of a running job.
func (r *reconciler) reconcileGroup(tg *api.TaskGroup, allocs []*api.Allocation, replaced map[string]bool) {
	name := deref(tg.Name)
	d := r.desiredFor(name)
	allocs = r.splitCanaries(tg, allocs, d)
	slots, allocs := r.splitDisconnected(tg, allocs, d)
	slots = append(slots, r.classify(tg, allocs, replaced, d)...)
	slices.SortStableFunc(slots, func(a, b slot) int { return cmp.Compare(a.index, b.index) })

	count := deref(tg.Count)
	for len(slots) > count {
		last := slots[len(slots)-1]
		slots = slots[:len(slots)-1]
		if last.live != nil {
			r.stop(last.live, allocNotNeeded, "")
			d.Stop++
		}
		if last.place != nil && last.place.reschedule {
			d.RescheduleNow--
		} else if last.place != nil {
			d.Place--
		}
	}
	used := make(map[int]bool, len(slots))
	for _, s := range slots {
		used[s.index] = true
		switch {
		case s.place != nil:
			r.result.places = append(r.result.places, *s.place)
		case s.live != nil:
			r.update(tg, s.live, d)
		default:
			d.Ignore++
		}
	}
	if missing := count - len(slots); missing > 0 {
		r.result.places = append(r.result.places, placement{group: tg,
			fresh: &freshNames{job: r.job, group: name, used: used, left: missing}})
		d.Place += uint64(missing)
	}
}

// freshNames names a group's new allocations, lowest free index first, as
// they are placed: a group asking for a huge count costs only the
// placements actually tried, not one entry per allocation asked for.
type freshNames struct {
	job   *api.Job
	group string
	used  map[int]bool
	next  int
	// left is how many allocations are still to be named.
	left int
}

// take returns the next name.
func (f *freshNames) take() string {
	for f.used[f.next] {
		f.next++
	}
	name := allocName(f.job, f.group, f.next)
	f.next++
	f.left--
	return name
}

// classify sorts a group's allocations into slots, stopping lost ones and
// asking for their replacement.
func (r *reconciler) classify(tg *api.TaskGroup, allocs []*api.Allocation, replaced map[string]bool, d *api.DesiredUpdates) []slot {
	var slots []slot
	stopAfter := clientStopAfter(tg)
	for _, a := range allocs {
		index := allocIndex(a.Name)
		if r.awaitingClientStop(a, stopAfter, replaced) {
			slots = append(slots, slot{index: index})
			d.Ignore++
			continue
		}
		if structs.AllocServerTerminal(a) || replaced[a.ID] {
			continue
		}
		switch {
		case a.ClientStatus == structs.AllocClientStatusComplete:
			if r.batch {
				slots = append(slots, slot{index: index})
			}
		case a.ClientStatus == structs.AllocClientStatusFailed:
			slots = append(slots, r.rescheduleSlot(tg, a, index, d))
		case r.nodeLost(a) && stopAfter > 0:
			r.result.lostLater = append(r.result.lostLater, delayedReschedule{alloc: a, at: r.now.Add(stopAfter)})
			slots = append(slots, slot{index: index})
			d.Stop++
		case a.ClientStatus == structs.AllocClientStatusLost || r.nodeLost(a):
			if a.ClientStatus != structs.AllocClientStatusLost {
				r.stop(a, allocLost, structs.AllocClientStatusLost)
				d.Stop++
			}
			slots = append(slots, slot{index: index, place: &placement{group: tg, name: a.Name, previous: a}})
			d.Place++
		case deref(a.DesiredTransition.Migrate):
			slots = append(slots, slot{index: index, place: &placement{
				group: tg, name: a.Name, previous: a, stopDesc: allocMigrating, stopFirst: true,
			}})
			d.Migrate++
		default:
			slots = append(slots, slot{index: index, live: a})
		}
	}
	return slots
}

// update brings a live allocation to the job's current version: in place
// when nothing its tasks run changed, by replacement otherwise.
func (r *reconciler) update(tg *api.TaskGroup, a *api.Allocation, d *api.DesiredUpdates) {
	if !jobChanged(a.Job, r.job) {
		if r.restored[a.ID] {
			r.result.inPlace = append(r.result.inPlace, a)
		}
		d.Ignore++
		return
	}
	if !r.destructive(a.Job, deref(tg.Name)) && r.fitsInPlace(a, tg) {
		updated := *a
		updated.Job = r.job
		updated.EvalID = ""
		r.result.inPlace = append(r.result.inPlace, &updated)
		d.InPlaceUpdate++
		return
	}
	if !r.takeBudget(deref(tg.Name)) {
		d.Ignore++
		return
	}
	p := placement{group: tg, name: a.Name, previous: a, stopDesc: allocUpdating, stopFirst: true}
	if r.system {
		p.node = r.nodes[a.NodeID]
	}
	r.result.places = append(r.result.places, p)
	d.DestructiveUpdate++
}

// takeBudget reports whether one more destructive update of the group may
// start now, counting it when so.
func (r *reconciler) takeBudget(group string) bool {
	left, limited := r.budget[group]
	if !limited {
		return true
	}
	if left <= 0 {
		return false
	}
	r.budget[group] = left - 1
	return true
}
