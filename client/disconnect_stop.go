package client

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// disconnectStopper stops the allocations whose group sets
// disconnect.stop_on_client_after (or the older
// stop_after_client_disconnect) once the client has had no server contact
// for that long, as Nomad's client does; the servers, which saw the node
// miss its heartbeats, replace them.
type disconnectStopper struct {
	c *Client
	// stopped holds the allocations already stopped, so each is stopped
	// once; owned by the goroutine that calls check.
	stopped map[string]bool
	// recheck wakes run when the allocations change.
	recheck chan struct{}
}

func newDisconnectStopper(c *Client) *disconnectStopper {
	return &disconnectStopper{c: c, stopped: map[string]bool{}, recheck: make(chan struct{}, 1)}
}

// allocsChanged makes run look at the allocations again.
func (s *disconnectStopper) allocsChanged() {
	select {
	case s.recheck <- struct{}{}:
	default:
	}
}

// run checks the allocations at each deadline, and whenever they change,
// until ctx is done.
func (s *disconnectStopper) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := s.check(time.Now())
		timer.Stop()
		var fire <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-fire:
		case <-s.recheck:
		}
	}
}

// check stops every allocation whose window since the last contact is over
// at now and returns the earliest deadline still ahead (zero: none).
func (s *disconnectStopper) check(now time.Time) time.Time {
	last := s.c.contact.lastContact()
	var next time.Time
	live := map[string]bool{}
	for _, ar := range s.c.runners() {
		id, alloc := ar.ID(), ar.Alloc()
		live[id] = true
		window := stopAfter(alloc)
		if window <= 0 || s.stopped[id] || stoppedByServers(alloc) || ar.IsTerminal() {
			continue
		}
		if deadline := last.Add(window); deadline.After(now) {
			if next.IsZero() || deadline.Before(next) {
				next = deadline
			}
			continue
		}
		s.c.logger.Warn("no server contact for longer than the group allows; stopping allocation",
			"alloc_id", id, "last_contact", last, "stop_on_client_after", window)
		ar.Kill(stopReason(window))
		s.stopped[id] = true
	}
	for id := range s.stopped {
		if !live[id] {
			delete(s.stopped, id)
		}
	}
	return next
}

// stopAfter is how long the allocation's group may go without server
// contact before the client stops it: disconnect.stop_on_client_after,
// else stop_after_client_disconnect; zero means never.
func stopAfter(a *api.Allocation) time.Duration {
	if a.Job == nil {
		return 0
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return 0
	}
	if ds := tg.Disconnect; ds != nil && ds.StopOnClientAfter != nil && *ds.StopOnClientAfter > 0 {
		return *ds.StopOnClientAfter
	}
	if tg.StopAfterClientDisconnect != nil && *tg.StopAfterClientDisconnect > 0 {
		return *tg.StopAfterClientDisconnect
	}
	return 0
}

// stoppedByServers reports whether the servers already asked for the
// allocation to stop.
func stoppedByServers(a *api.Allocation) bool {
	return a.DesiredStatus != "" && a.DesiredStatus != structs.AllocDesiredStatusRun
}

// stopReason is the Killing event's reason for an allocation stopped after
// window without server contact.
func stopReason(window time.Duration) string {
	return fmt.Sprintf("no contact with the servers for longer than %v", window)
}
