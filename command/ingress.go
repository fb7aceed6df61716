package command

import (
	"fmt"
	"strings"

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
  and the services whose claim on the same host and path lost to an older
  one.

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
	rows := []string{"Host|Path|Service|Instances|Requests|Failures|Conflicts"}
	for _, r := range routes {
		conflicts := "-"
		if len(r.Conflicts) > 0 {
			conflicts = "lost: " + strings.Join(r.Conflicts, ",")
		}
		rows = append(rows, fmt.Sprintf("%s|%s|%s/%s|%d|%d|%d|%s", r.Host, r.Path, r.Namespace, r.Service,
			len(r.Instances), r.Stats.Requests, r.Stats.Failures, conflicts))
	}
	return formatList(rows)
}
