package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/ingress"
)

// ingressListVerb prints an agent's ingress routing table.
var ingressListVerb = &verb{
	name:     "ingress list",
	synopsis: "Display the ingress routing table of an agent",
	help: `
Usage: roam ingress list [options]

  List prints the routes of the agent's built-in ingress (client { ingress
  { enabled = true } }): the host and path of each route, the service it
  routes to, its instances (those whose checks pass), its request counters,
  where its HTTPS certificate comes from (a variable under
  nomad/ingress/certs/, or cert_file), and the services whose claim on the
  same host and path lost to an older one.

General Options:
` + generalOptionsHelp + `

Ingress List Options:

  -json
    Output the routes in JSON format.
`,
	run: (*cli).ingressList,
}

// ingressList implements `ingress list`.
func (c *cli) ingressList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	var routes []ingress.RouteView
	if _, err := client.Raw().Query("/v1/ingress/routes", &routes, nil); err != nil {
		c.errorf("Error reading the ingress routes: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(routes)
	}
	if len(routes) == 0 {
		c.outf("No ingress routes")
		return 0
	}
	c.outf("%s", formatIngressRoutes(routes))
	return 0
}

// formatIngressRoutes renders the routing table, one route a row.
func formatIngressRoutes(routes []ingress.RouteView) string {
	rows := []string{"Host|Path|Service|Instances|Requests|Failures|Certificate|Conflicts"}
	for _, r := range routes {
		conflicts, cert := "-", "-"
		if len(r.Conflicts) > 0 {
			conflicts = "lost: " + strings.Join(r.Conflicts, ",")
		}
		if r.Certificate != "" {
			cert = r.Certificate
		}
		rows = append(rows, fmt.Sprintf("%s|%s|%s/%s|%d|%d|%d|%s|%s", r.Host, r.Path, r.Namespace, r.Service,
			len(r.Instances), r.Stats.Requests, r.Stats.Failures, cert, conflicts))
	}
	return formatList(rows)
}

// agentRoutes reads the routing table of the agent the CLI talks to; known
// is false when that agent runs no ingress (or cannot be asked).
func agentRoutes(client *api.Client) (routes []ingress.RouteView, known bool) {
	if _, err := client.Raw().Query("/v1/ingress/routes", &routes, nil); err != nil {
		return nil, false
	}
	return routes, true
}

// ingressRouteState says what the ingress does with one registration:
// "active" (it takes the route's traffic), "lost to NS/NAME" (an older
// service holds the host and path), "not routed" (its checks do not pass
// yet, or the table has not caught up) or "-" (this agent runs no
// ingress).
func ingressRouteState(reg *api.ServiceRegistration, routes []ingress.RouteView, known bool) string {
	if !known {
		return "-"
	}
	host, path := ingress.RouteOf(reg.Tags)
	for _, r := range routes {
		if r.Host != host || r.Path != path {
			continue
		}
		if r.Namespace != reg.Namespace || r.Service != reg.ServiceName {
			return "lost to " + r.Namespace + "/" + r.Service
		}
		for _, in := range r.Instances {
			if in.AllocID == reg.AllocID {
				return "active"
			}
		}
	}
	return "not routed"
}

// formatIngressInstances renders the registrations of one allocation
// that ask for the ingress: the service, the instance's address (the
// allocation's cluster address and port on a bridge network), its host and
// path, and its state in the agent's routing table; "" when none asks.
func formatIngressInstances(regs []*api.ServiceRegistration, routes []ingress.RouteView, known bool) string {
	rows := []string{"Service|Address|Host|Path|Route"}
	for _, r := range regs {
		if host, path := ingress.RouteOf(r.Tags); host != "" {
			rows = append(rows, fmt.Sprintf("%s|%s|%s|%s|%s", r.ServiceName, serviceAddress(r), host, path, ingressRouteState(r, routes, known)))
		}
	}
	if len(rows) == 1 {
		return ""
	}
	return formatList(rows)
}

// formatServiceAllocations renders, for `service info`, each instance's
// allocation with its cluster address (its own address on a bridge or
// cluster network, by alloc ID in clusterAddrs) and its ingress route;
// "" when no instance has either.
func formatServiceAllocations(regs []*api.ServiceRegistration, clusterAddrs map[string]string, routes []ingress.RouteView, known bool) string {
	rows := []string{"Alloc ID|Cluster Address|Ingress|Route"}
	shown := false
	for _, r := range regs {
		addr, route, state := "-", "-", "-"
		if a := clusterAddrs[r.AllocID]; a != "" {
			addr, shown = a, true
		}
		if host, path := ingress.RouteOf(r.Tags); host != "" {
			route, state, shown = host+path, ingressRouteState(r, routes, known), true
		}
		rows = append(rows, fmt.Sprintf("%s|%s|%s|%s", shortID(r.AllocID, false), addr, route, state))
	}
	if !shown {
		return ""
	}
	return formatList(rows)
}
