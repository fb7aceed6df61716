package ingress

import (
	"net"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/nomad/api"
)

// Tags that put a service instance behind the ingress.
const (
	hostTag = "ingress.host="
	pathTag = "ingress.path="
)

// Route is one entry of the routing table: requests for Host whose path
// starts with Path go to the healthy instances of one service.
type Route struct {
	Host, Path         string
	Namespace, Service string
	// Instances are the service's registrations on this route; Healthy
	// those whose checks pass.
	Instances []Instance
	// Conflicts names the services that claim the same host and path
	// but are newer, so do not get it ("namespace/name").
	Conflicts []string

	next  atomic.Uint64 // round-robin cursor
	stats *routeStats
}

// Instance is one upstream of a route.
type Instance struct {
	AllocID string
	Address string // host:port
	Healthy bool
}

// healthy returns the route's healthy instances.
func (r *Route) healthy() []Instance {
	var out []Instance
	for _, in := range r.Instances {
		if in.Healthy {
			out = append(out, in)
		}
	}
	return out
}

// Table is an immutable routing table; a new one replaces it whole.
type Table struct {
	routes []*Route // longest path first within a host
}

// Routes lists the table's routes, by host then path.
func (t *Table) Routes() []*Route {
	out := append([]*Route(nil), t.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// lookup finds the route for a request's host and path: the longest path
// prefix among the host's routes.
func (t *Table) lookup(host, path string) *Route {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, r := range t.routes {
		if r.Host == host && pathMatches(r.Path, path) {
			return r
		}
	}
	return nil
}

func pathMatches(prefix, path string) bool {
	if prefix == "/" || path == prefix {
		return true
	}
	return strings.HasPrefix(path, strings.TrimSuffix(prefix, "/")+"/")
}

// claim is one service's registrations for a host and path.
type claim struct {
	namespace, service string
	oldest             uint64
	instances          []Instance
}

// buildTable makes the routing table from registrations and the health of
// their allocations (missing: healthy). Two services claiming one host and
// path: the one registered first keeps the route; the other is listed as a
// conflict. Stats carry over from old, route by route.
func buildTable(regs []*api.ServiceRegistration, unhealthy map[string]bool, old *Table) *Table {
	claims := map[[2]string]map[string]*claim{}
	for _, reg := range regs {
		host, path := routeOf(reg.Tags)
		if host == "" {
			continue
		}
		key := [2]string{host, path}
		svc := reg.Namespace + "/" + reg.ServiceName
		if claims[key] == nil {
			claims[key] = map[string]*claim{}
		}
		c := claims[key][svc]
		if c == nil {
			c = &claim{namespace: reg.Namespace, service: reg.ServiceName, oldest: reg.CreateIndex}
			claims[key][svc] = c
		}
		c.oldest = min(c.oldest, reg.CreateIndex)
		c.instances = append(c.instances, Instance{
			AllocID: reg.AllocID, Address: net.JoinHostPort(reg.Address, itoa(reg.Port)), Healthy: !unhealthy[reg.AllocID],
		})
	}
	t := &Table{}
	for key, byService := range claims {
		var all []*claim
		for _, c := range byService {
			all = append(all, c)
		}
		sort.Slice(all, func(i, j int) bool {
			if all[i].oldest != all[j].oldest {
				return all[i].oldest < all[j].oldest
			}
			return all[i].namespace+"/"+all[i].service < all[j].namespace+"/"+all[j].service
		})
		win := all[0]
		sort.Slice(win.instances, func(i, j int) bool { return win.instances[i].Address < win.instances[j].Address })
		r := &Route{Host: key[0], Path: key[1], Namespace: win.namespace, Service: win.service, Instances: win.instances}
		for _, c := range all[1:] {
			r.Conflicts = append(r.Conflicts, c.namespace+"/"+c.service)
		}
		r.stats = old.statsFor(r.Host, r.Path)
		t.routes = append(t.routes, r)
	}
	sort.Slice(t.routes, func(i, j int) bool {
		if t.routes[i].Host != t.routes[j].Host {
			return t.routes[i].Host < t.routes[j].Host
		}
		return len(t.routes[i].Path) > len(t.routes[j].Path)
	})
	return t
}

// routeOf reads a registration's ingress tags: its host (lower case) and
// path ("/" by default); no host tag, no route.
func routeOf(tags []string) (host, path string) {
	path = "/"
	for _, tag := range tags {
		if v, ok := strings.CutPrefix(tag, hostTag); ok {
			host = strings.ToLower(strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(tag, pathTag); ok && strings.HasPrefix(v, "/") {
			path = v
		}
	}
	return host, path
}

// statsFor returns the counters of the old table's route for host and
// path, or new ones.
func (t *Table) statsFor(host, path string) *routeStats {
	if t != nil {
		for _, r := range t.routes {
			if r.Host == host && r.Path == path {
				return r.stats
			}
		}
	}
	return &routeStats{}
}

// RouteView is a route as the agent's API and `roam ingress list` show it.
type RouteView struct {
	Host, Path         string
	Namespace, Service string
	Instances          []Instance
	Conflicts          []string `json:",omitempty"`
	Stats              Stats
}

// View lists the table's routes for display.
func (t *Table) View() []RouteView {
	out := []RouteView{}
	for _, r := range t.Routes() {
		out = append(out, RouteView{Host: r.Host, Path: r.Path, Namespace: r.Namespace, Service: r.Service,
			Instances: r.Instances, Conflicts: r.Conflicts, Stats: r.stats.snapshot()})
	}
	return out
}
