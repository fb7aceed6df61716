package fsapi

import "net/http"

// allocChecks serves /v1/client/allocation/:id/checks: the latest results
// of the allocation's Nomad service checks, by check ID.
func (h *handler) allocChecks(w http.ResponseWriter, r *http.Request) error {
	ar, err := h.runner(r)
	if err != nil {
		return err
	}
	return writeJSON(w, ar.CheckStatuses())
}
