package ingress

import (
	"net"
	"net/http/httputil"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/nomad/api"
)

// Tags that put a service instance behind the ingress; the jobspec's
// `service { ingress { host path } }` block is written as these tags.
const (
	HostTag = "ingress.host="
	PathTag = "ingress.path="
)

// Route is one entry of the routing table: requests for Host whose path
// starts with Path go to the instances of one service.
type Route struct {
	Host, Path         string
	Namespace, Service string
	// JobID is the job of the service's instances.
	JobID string
	// Instances are the service's registrations on this route. The
	// catalogue holds only instances whose checks pass (clients publish a
	// registration once its checks pass and withdraw it when one fails),
	// so every instance takes traffic. None: the service's job still asks
	// for the route but no instance is up (all stopped, or all failing
	// their checks); requests get 503.
	Instances []Instance
	// Conflicts names the services that claim the same host and path
	// but are newer, so do not get it ("namespace/name").
	Conflicts []string

	next    atomic.Uint64 // round-robin cursor
	stats   *routeStats
	reverse *httputil.ReverseProxy // made once per route, with the table
}

// Instance is one upstream of a route.
type Instance struct {
	AllocID string
	Address string // host:port
}

// Table is an immutable routing table; a new one replaces it whole.
type Table struct {
	routes []*Route            // by host then path
	byHost map[string][]*Route // longest path first
}

// Routes lists the table's routes, by host then path.
func (t *Table) Routes() []*Route { return t.routes }

// hasIdle reports whether a route has no instances.
func (t *Table) hasIdle() bool {
	for _, r := range t.routes {
		if len(r.Instances) == 0 {
			return true
		}
	}
	return false
}

// lookup finds the route for a request's host and path: the longest path
// prefix among the host's routes. It allocates nothing for a lower-case
// host.
func (t *Table) lookup(host, path string) *Route {
	host = strings.ToLower(stripPort(host))
	for _, r := range t.byHost[host] {
		if pathMatches(r.Path, path) {
			return r
		}
	}
	return nil
}

// stripPort drops a ":port" suffix from a Host header ("[::1]:80" gives
// "::1").
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[1:end]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host, ':') == i {
		return host[:i]
	}
	return host
}

func pathMatches(prefix, path string) bool {
	if prefix == "/" || path == prefix {
		return true
	}
	p := strings.TrimSuffix(prefix, "/")
	return len(path) > len(p) && path[len(p)] == '/' && strings.HasPrefix(path, p)
}

// RouteKey names a route and the service (and job) that holds it.
type RouteKey struct {
	Host, Path                string
	Namespace, Service, JobID string
	// Since is the age of the service's claim: its job's CreateIndex.
	Since uint64
}

// claim is one service's registrations for a host and path.
type claim struct {
	namespace, service, jobID string
	oldest                    uint64
	instances                 []Instance
}

// JobKey names a job in a jobIndex map: "namespace/id".
func JobKey(namespace, id string) string { return namespace + "/" + id }

// buildTable makes the routing table from registrations. Two services
// claiming one host and path: the older keeps the route and the other is
// listed as a conflict. A claim is as old as its service's job (its
// CreateIndex in jobIndex, by JobKey), so it survives the service's
// instances being replaced; a job missing from jobIndex dates from its
// oldest registration. Stats carry over from old, route by route; each
// route gets its reverse proxy from newProxy. Each of idle is a claim
// with no instances (its job still asks for the route), as old as its
// Since: the older claim keeps the route even so, and answers 503.
func buildTable(regs []*api.ServiceRegistration, jobIndex map[string]uint64, idle []RouteKey, old *Table, newProxy func(*Route) *httputil.ReverseProxy) *Table {
	claims := map[[2]string]map[string]*claim{}
	for _, reg := range regs {
		host, path := RouteOf(reg.Tags)
		if host == "" {
			continue
		}
		key := [2]string{host, path}
		svc := reg.Namespace + "/" + reg.ServiceName
		if claims[key] == nil {
			claims[key] = map[string]*claim{}
		}
		since := reg.CreateIndex
		if idx, ok := jobIndex[JobKey(reg.Namespace, reg.JobID)]; ok {
			since = idx
		}
		c := claims[key][svc]
		if c == nil {
			c = &claim{namespace: reg.Namespace, service: reg.ServiceName, jobID: reg.JobID, oldest: since}
			claims[key][svc] = c
		}
		c.oldest = min(c.oldest, since)
		c.instances = append(c.instances, Instance{AllocID: reg.AllocID, Address: net.JoinHostPort(reg.Address, itoa(reg.Port))})
	}
	for _, k := range idle {
		key, svc := [2]string{k.Host, k.Path}, k.Namespace+"/"+k.Service
		if claims[key] == nil {
			claims[key] = map[string]*claim{}
		}
		if claims[key][svc] == nil {
			claims[key][svc] = &claim{namespace: k.Namespace, service: k.Service, jobID: k.JobID, oldest: k.Since}
		}
	}
	t := &Table{byHost: map[string][]*Route{}}
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
		r := &Route{Host: key[0], Path: key[1], Namespace: win.namespace, Service: win.service, JobID: win.jobID, Instances: win.instances}
		for _, c := range all[1:] {
			r.Conflicts = append(r.Conflicts, c.namespace+"/"+c.service)
		}
		r.stats = old.statsFor(r.Host, r.Path)
		if newProxy != nil {
			r.reverse = newProxy(r)
		}
		t.routes = append(t.routes, r)
		t.byHost[r.Host] = append(t.byHost[r.Host], r)
	}
	sort.Slice(t.routes, func(i, j int) bool {
		if t.routes[i].Host != t.routes[j].Host {
			return t.routes[i].Host < t.routes[j].Host
		}
		return t.routes[i].Path < t.routes[j].Path
	})
	for _, rs := range t.byHost {
		sort.Slice(rs, func(i, j int) bool { return len(rs[i].Path) > len(rs[j].Path) })
	}
	return t
}

// RouteOf reads a registration's ingress tags: its host (lower case) and
// path ("/" by default); no host tag, no route.
func RouteOf(tags []string) (host, path string) {
	path = "/"
	for _, tag := range tags {
		if v, ok := strings.CutPrefix(tag, HostTag); ok {
			host = strings.ToLower(strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(tag, PathTag); ok && strings.HasPrefix(v, "/") {
			path = v
		}
	}
	return host, path
}

// statsFor returns the counters of the old table's route for host and
// path, or new ones.
func (t *Table) statsFor(host, path string) *routeStats {
	if t != nil {
		for _, r := range t.byHost[host] {
			if r.Path == path {
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
	// Certificate names where the HTTPS certificate for Host comes from
	// (a variable's path, or "cert_file"); "" when HTTPS is off or no
	// certificate covers it. The agent fills it in.
	Certificate string `json:",omitempty"`
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
