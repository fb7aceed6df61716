package agent

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
)

// servicesList serves GET /v1/services: the Nomad-provider services of a
// namespace ("*": every namespace), each with its distinct tags.
func (h *httpAPI) servicesList(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed()
	}
	ns := namespaceOf(r)
	var out []*api.ServiceRegistrationListStub
	allowed := callerACL(r)
	err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		regs, err := snap.ServiceRegistrations(ns)
		visible := regs[:0:0]
		for _, reg := range regs {
			if allowed.AllowServiceRead(reg.Namespace) {
				visible = append(visible, reg)
			}
		}
		out = serviceStubs(visible)
		return snap.ServicesIndex(), err
	})
	return page(w, r, out, err, serviceKey)
}

// serviceStubs groups registrations by namespace and service name, with
// each service's tags de-duplicated and sorted.
func serviceStubs(regs []*api.ServiceRegistration) []*api.ServiceRegistrationListStub {
	byNS := map[string]map[string]map[string]bool{}
	for _, reg := range regs {
		if byNS[reg.Namespace] == nil {
			byNS[reg.Namespace] = map[string]map[string]bool{}
		}
		tags := byNS[reg.Namespace][reg.ServiceName]
		if tags == nil {
			tags = map[string]bool{}
			byNS[reg.Namespace][reg.ServiceName] = tags
		}
		for _, t := range reg.Tags {
			tags[t] = true
		}
	}
	out := []*api.ServiceRegistrationListStub{}
	for _, ns := range sortedKeys(byNS) {
		stub := &api.ServiceRegistrationListStub{Namespace: ns}
		for _, name := range sortedKeys(byNS[ns]) {
			stub.Services = append(stub.Services, &api.ServiceRegistrationStub{ServiceName: name, Tags: sortedKeys(byNS[ns][name])})
		}
		out = append(out, stub)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// serviceRequest serves GET /v1/service/<name> (with ?tag= and
// ?choose=<n>|<key>) and DELETE /v1/service/<name>/<id>.
func (h *httpAPI) serviceRequest(w http.ResponseWriter, r *http.Request) (any, error) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/v1/service/")
	rawName, rawID, hasID := strings.Cut(path, "/")
	name, err := url.PathUnescape(rawName)
	if err != nil || name == "" {
		return nil, codedError(http.StatusBadRequest, "missing service name")
	}
	switch {
	case r.Method == http.MethodDelete && hasID:
		id, err := url.PathUnescape(rawID)
		if err != nil || id == "" {
			return nil, codedError(http.StatusBadRequest, "missing service ID")
		}
		index, err := h.srv.DeleteServiceRegistrations(namespaceOf(r), []string{id})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	case r.Method == http.MethodGet && !hasID:
		return h.serviceRead(w, r, name)
	}
	return nil, methodNotAllowed()
}

// serviceRead lists a service's registrations.
func (h *httpAPI) serviceRead(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	q := r.URL.Query()
	choose, err := parseChoose(q.Get("choose"))
	if err != nil {
		return nil, err
	}
	tags := q["tag"]
	ns := namespaceOf(r)
	out := []*api.ServiceRegistration{}
	err = h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
		regs, err := snap.ServiceRegistrationsByName(ns, name)
		out = out[:0]
		for _, reg := range regs {
			if hasTags(reg, tags) {
				out = append(out, reg)
			}
		}
		return snap.ServicesIndex(), err
	})
	if err != nil {
		return nil, err
	}
	return choose.apply(out), nil
}

// hasTags reports whether reg carries every one of tags.
func hasTags(reg *api.ServiceRegistration, tags []string) bool {
	for _, want := range tags {
		found := false
		for _, t := range reg.Tags {
			found = found || t == want
		}
		if !found {
			return false
		}
	}
	return true
}

// chooser picks n registrations by rendezvous hashing on key: the same key
// gets the same registrations while they exist, and few change when
// registrations come and go.
type chooser struct {
	n   int
	key string
}

// parseChoose reads "<n>|<key>"; empty means no choice.
func parseChoose(v string) (*chooser, error) {
	if v == "" {
		return nil, nil
	}
	num, key, ok := strings.Cut(v, "|")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 || key == "" {
		return nil, codedError(http.StatusBadRequest, "invalid choose value %q: want <number>|<key>", v)
	}
	return &chooser{n: n, key: key}, nil
}

func (c *chooser) apply(regs []*api.ServiceRegistration) []*api.ServiceRegistration {
	if c == nil || len(regs) <= c.n {
		return regs
	}
	score := func(reg *api.ServiceRegistration) uint64 {
		sum := sha256.Sum256([]byte(c.key + "\x00" + reg.ID))
		return binary.BigEndian.Uint64(sum[:8])
	}
	sorted := append([]*api.ServiceRegistration(nil), regs...)
	sort.SliceStable(sorted, func(i, j int) bool { return score(sorted[i]) > score(sorted[j]) })
	return sorted[:c.n]
}
