package scheduler

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestClientStopAfter covers groups whose client stops their allocations
// when it loses the servers: the allocations of a lost node are marked
// lost at once, but replaced only by a follow-up evaluation once the
// client has stopped them.
func TestClientStopAfter(t *testing.T) {
	cases := []struct {
		name  string
		group func(*api.TaskGroup)
	}{
		{"stop_on_client_after", func(tg *api.TaskGroup) {
			tg.Disconnect = &api.DisconnectStrategy{StopOnClientAfter: new(time.Minute)}
		}},
		{"stop_after_client_disconnect", func(tg *api.TaskGroup) { tg.StopAfterClientDisconnect = new(time.Minute) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newDisconnectWorld(t, tc.group)
			w.setOrigNode(structs.NodeStatusDown, time.Now())
			plan := w.evaluate(nil)
			orig := w.alloc(w.orig)
			if orig.ClientStatus != structs.AllocClientStatusLost || !structs.AllocServerTerminal(orig) || len(plan.NodeAllocation) != 0 {
				t.Fatalf("orig %s/%s, %d nodes placed on; want lost and no replacement yet", orig.DesiredStatus, orig.ClientStatus, len(plan.NodeAllocation))
			}
			if len(w.h.created) != 1 {
				t.Fatalf("created %d evals, want one follow-up", len(w.h.created))
			}
			f := w.h.created[0]
			if orig.FollowupEvalID != f.ID || time.Until(f.WaitUntil) < 50*time.Second {
				t.Errorf("follow-up %s waits until %v; orig points at %q", f.ID, f.WaitUntil, orig.FollowupEvalID)
			}
			// Another evaluation meanwhile still waits.
			if plan := w.evaluate(nil); len(plan.NodeAllocation) != 0 || len(w.h.created) != 1 {
				t.Errorf("evaluation before the delay placed %d, created %d evals", len(plan.NodeAllocation), len(w.h.created))
			}
			w.evaluate(f)
			live := w.live()
			if len(live) != 1 || w.alloc(live[0]).NodeID == orig.NodeID {
				t.Errorf("after the follow-up: live %v, want one replacement elsewhere", live)
			}
		})
	}
}
