package jobspec

import (
	"time"

	"github.com/hashicorp/nomad/api"
)

// validReconcile holds the disconnect block's reconcile options.
var validReconcile = map[string]bool{
	api.ReconcileOptionBestScore:       true,
	api.ReconcileOptionKeepOriginal:    true,
	api.ReconcileOptionKeepReplacement: true,
	api.ReconcileOptionLongestRunning:  true,
}

// validateDisconnect checks a group's disconnect block and the older
// attributes it replaced, as Nomad does: a group either keeps its
// allocations "unknown" for a while (lost_after, max_client_disconnect)
// or stops them on the client (stop_on_client_after,
// stop_after_client_disconnect), never both, and each setting is given
// in one form only.
func validateDisconnect(p problems, job *api.Job, tg *api.TaskGroup) {
	ds := tg.Disconnect
	if ds == nil {
		ds = &api.DisconnectStrategy{}
	}
	lostAfter, stopOnClient := positive(ds.LostAfter), ds.StopOnClientAfter != nil
	maxDisconnect, stopAfter := tg.MaxClientDisconnect != nil, tg.StopAfterClientDisconnect != nil
	switch {
	case lostAfter && stopOnClient:
		p.addf("disconnect: lost_after and stop_on_client_after cannot both be set")
	case lostAfter && maxDisconnect:
		p.addf("using both disconnect.lost_after and max_client_disconnect is not allowed; use lost_after")
	case stopOnClient && stopAfter:
		p.addf("using both disconnect.stop_on_client_after and stop_after_client_disconnect is not allowed; use stop_on_client_after")
	case (lostAfter || maxDisconnect) && (stopOnClient || stopAfter):
		p.addf("a group cannot both keep disconnected allocations (%s) and stop them on the client (%s)",
			pick(lostAfter, "disconnect.lost_after", "max_client_disconnect"),
			pick(stopOnClient, "disconnect.stop_on_client_after", "stop_after_client_disconnect"))
	}
	if tg.Disconnect != nil && tg.PreventRescheduleOnLost != nil && *tg.PreventRescheduleOnLost {
		p.addf("using both a disconnect block and prevent_reschedule_on_lost is not allowed; use disconnect.replace")
	}
	if (stopOnClient || stopAfter) && deref(job.Type) == "system" {
		p.addf("stop_on_client_after (stop_after_client_disconnect) can only be set in batch and service jobs")
	}
	nonNegative(p, "disconnect.lost_after", ds.LostAfter)
	if ds.StopOnClientAfter != nil && *ds.StopOnClientAfter <= 0 {
		p.addf("disconnect.stop_on_client_after must be a positive duration; got %v", *ds.StopOnClientAfter)
	}
	if r := ds.Reconcile; r != nil && !validReconcile[*r] {
		p.addf("disconnect: invalid reconcile option %q: must be one of best_score, keep_original, keep_replacement, longest_running", *r)
	}
}

// positive reports whether d is set and above zero; Nomad takes a zero
// lost_after as unset.
func positive(d *time.Duration) bool {
	return d != nil && *d > 0
}

// pick returns a when cond holds, else b.
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
