package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/cronexpr"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// periodicChildInfix joins a periodic job's ID and the launch time in the
// IDs of its children ("<parent>/periodic-<unix seconds>"), as in Nomad.
const periodicChildInfix = "/periodic-"

// periodicDispatcher launches the children of periodic jobs at their cron
// times. The leader runs one per term: it starts from the state store and
// keeps nothing across a change of leader.
type periodicDispatcher struct {
	srv     *Server
	logger  *slog.Logger
	tracked map[jobKey]*periodicEntry
}

// periodicEntry is one tracked periodic job and its next launch.
type periodicEntry struct {
	job  *api.Job
	next time.Time // zero: the spec has no further launch
}

// runPeriodicDispatcher runs the periodic dispatcher until ctx (the
// leadership term) ends.
func (s *Server) runPeriodicDispatcher(ctx context.Context) {
	d := &periodicDispatcher{srv: s, logger: s.logger.With("component", "periodic"), tracked: map[jobKey]*periodicEntry{}}
	updates := make(chan []*api.Job, 1)
	s.goRun(func() { d.watchJobs(ctx, updates) })
	d.run(ctx, updates)
}

// run launches due jobs and takes in changed job lists until ctx ends.
func (d *periodicDispatcher) run(ctx context.Context, updates <-chan []*api.Job) {
	for ctx.Err() == nil {
		var due <-chan time.Time
		timer := time.NewTimer(time.Hour)
		if next := d.earliest(); !next.IsZero() {
			timer.Reset(time.Until(next))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case jobs := <-updates:
			d.sync(jobs, time.Now())
		case <-due:
			d.launchDue(ctx, time.Now())
		}
		timer.Stop()
	}
}

// watchJobs sends the active periodic jobs to out whenever the jobs table
// changes, through blocking queries on the state store. out holds only the
// newest list.
func (d *periodicDispatcher) watchJobs(ctx context.Context, out chan []*api.Job) {
	var index uint64
	for ctx.Err() == nil {
		var jobs []*api.Job
		next, err := d.srv.State().BlockingQuery(ctx, index, 5*time.Minute, func(snap *state.Snapshot) (uint64, error) {
			all, err := snap.Jobs("*", "")
			if err != nil {
				return 0, err
			}
			jobs = jobs[:0]
			for _, j := range all {
				if periodicActive(j) {
					jobs = append(jobs, j)
				}
			}
			return max(snap.Index("jobs"), 1), nil
		})
		if err != nil {
			d.logger.Warn("watch periodic jobs", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if index != 0 && next <= index {
			continue // the wait ran out with nothing new
		}
		index = next
		select {
		case <-out: // drop the list the dispatcher has not taken yet
		default:
		}
		out <- jobs
	}
}

// sync replaces the tracked jobs with jobs. A job whose specification is
// unchanged keeps its next launch; a new or changed one is scheduled from
// now.
func (d *periodicDispatcher) sync(jobs []*api.Job, now time.Time) {
	keep := map[jobKey]bool{}
	for _, j := range jobs {
		key := jobKey{*j.Namespace, *j.ID}
		keep[key] = true
		if e := d.tracked[key]; e != nil && derefU64(e.job.JobModifyIndex) == derefU64(j.JobModifyIndex) {
			e.job = j
			continue
		}
		next, err := nextLaunch(j.Periodic, now)
		if err != nil {
			d.logger.Warn("periodic job not tracked", "job_id", *j.ID, "error", err)
			delete(d.tracked, key)
			continue
		}
		d.tracked[key] = &periodicEntry{job: j, next: next}
		d.logger.Debug("periodic job tracked", "job_id", *j.ID, "next_launch", next)
	}
	for key := range d.tracked {
		if !keep[key] {
			delete(d.tracked, key)
		}
	}
}

// earliest is the soonest launch among the tracked jobs, or zero.
func (d *periodicDispatcher) earliest() time.Time {
	var out time.Time
	for _, e := range d.tracked {
		if !e.next.IsZero() && (out.IsZero() || e.next.Before(out)) {
			out = e.next
		}
	}
	return out
}

// launchDue launches every tracked job whose launch time has come and
// schedules its next launch. Launches missed while the dispatcher was
// behind are skipped, not made up.
func (d *periodicDispatcher) launchDue(ctx context.Context, now time.Time) {
	for _, e := range d.tracked {
		if e.next.IsZero() || e.next.After(now) || ctx.Err() != nil {
			continue
		}
		if err := d.launch(e.job, e.next); err != nil {
			d.logger.Error("periodic launch failed", "job_id", *e.job.ID, "launch", e.next, "error", err)
		}
		next, err := nextLaunch(e.job.Periodic, now)
		if err != nil {
			d.logger.Warn("periodic job has no next launch", "job_id", *e.job.ID, "error", err)
		}
		e.next = next
	}
}

// launch registers the child of parent for the launch at, unless the
// parent has since been stopped or removed, prohibit_overlap holds it back,
// or the child already exists.
func (d *periodicDispatcher) launch(tracked *api.Job, at time.Time) error {
	snap := d.srv.State().Snapshot()
	parent, err := snap.JobByID(*tracked.Namespace, *tracked.ID)
	if err != nil || parent == nil || !periodicActive(parent) {
		return err
	}
	if parent.Periodic.ProhibitOverlap != nil && *parent.Periodic.ProhibitOverlap {
		live, err := liveChild(snap, parent)
		if err != nil {
			return err
		}
		if live != "" {
			d.logger.Info("periodic launch skipped: previous instance still running", "job_id", *parent.ID, "running", live)
			return nil
		}
	}
	child := periodicChild(parent, at)
	if existing, err := snap.JobByID(*child.Namespace, *child.ID); err != nil || existing != nil {
		return err
	}
	res, err := d.srv.RegisterJob(&structs.JobRegisterArgs{Job: child, Trigger: structs.EvalTriggerPeriodicJob})
	if err != nil {
		return fmt.Errorf("register %q: %w", *child.ID, err)
	}
	d.logger.Info("periodic job launched", "job_id", *child.ID, "eval_id", res.EvalID)
	return nil
}

// ForcePeriodicRun launches a child of a periodic job now, whatever its
// prohibit_overlap says, as `nomad job periodic force` does.
func (s *Server) ForcePeriodicRun(namespace, jobID string) (*structs.JobRegisterReply, error) {
	job, err := s.State().Snapshot().JobByID(namespace, jobID)
	if err != nil {
		return nil, err
	}
	if job == nil {
		return nil, fmt.Errorf("job %q not found: %w", jobID, ErrNotFound)
	}
	if !periodicActive(job) {
		return nil, fmt.Errorf("%w: can't force launch non-periodic job", ErrInvalid)
	}
	return s.RegisterJob(&structs.JobRegisterArgs{Job: periodicChild(job, time.Now()), Trigger: structs.EvalTriggerPeriodicJob})
}

// periodicActive reports whether a job launches children on a schedule:
// periodic, enabled, not stopped, and not a parameterized template (whose
// dispatched instances are the periodic ones).
func periodicActive(j *api.Job) bool {
	return j.Periodic != nil && (j.Periodic.Enabled == nil || *j.Periodic.Enabled) &&
		(j.Stop == nil || !*j.Stop) && j.ParameterizedJob == nil
}

// nextLaunch is the first time after from that any of the periodic
// config's cron specs names, read in its time zone; zero when none does.
func nextLaunch(p *api.PeriodicConfig, from time.Time) (time.Time, error) {
	loc, err := p.GetLocation()
	if err != nil {
		return time.Time{}, fmt.Errorf("periodic time zone: %w", err)
	}
	specs := append([]string(nil), p.Specs...)
	if p.Spec != nil && *p.Spec != "" {
		specs = append(specs, *p.Spec)
	}
	var next time.Time
	for _, spec := range specs {
		expr, err := cronexpr.Parse(spec)
		if err != nil {
			return time.Time{}, fmt.Errorf("cron spec %q: %w", spec, err)
		}
		t := expr.Next(from.In(loc))
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next, nil
}

// periodicChild derives the job launched from parent at a launch time: the
// parent's specification under the ID "<parent>/periodic-<unix>", with no
// schedule of its own.
func periodicChild(parent *api.Job, at time.Time) *api.Job {
	child := derivedJob(parent, fmt.Sprintf("%s%s%d", *parent.ID, periodicChildInfix, at.Unix()))
	child.Periodic = nil
	return child
}

// derivedJob copies parent into a new child job named id, clearing what
// the server maintains for a stored job.
func derivedJob(parent *api.Job, id string) *api.Job {
	child := copyJob(parent)
	child.ID, child.Name, child.ParentID = &id, &id, parent.ID
	child.Status, child.StatusDescription, child.Stable, child.Version = nil, nil, nil, nil
	child.CreateIndex, child.ModifyIndex, child.JobModifyIndex, child.SubmitTime = nil, nil, nil, nil
	return child
}

// liveChild returns the ID of a child of parent that is not dead yet, or
// "" when there is none.
func liveChild(snap *state.Snapshot, parent *api.Job) (string, error) {
	jobs, err := snap.Jobs(*parent.Namespace, *parent.ID+"/")
	if err != nil {
		return "", err
	}
	for _, j := range jobs {
		if j.ParentID != nil && *j.ParentID == *parent.ID && (j.Status == nil || *j.Status != structs.JobStatusDead) {
			return *j.ID, nil
		}
	}
	return "", nil
}
