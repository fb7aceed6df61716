package command

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// serviceListVerb lists the Nomad-provider services.
var serviceListVerb = &verb{
	name:     "service list",
	synopsis: "Display all registered Roam services",
	help: `
Usage: roam service list [options]

  List is used to list the currently registered Roam services. With
  -namespace=* it lists the services of every namespace.

General Options:
` + generalOptionsHelp + `

Service List Options:

  -json
    Output the services in JSON format.
`,
	run: (*cli).serviceList,
}

// serviceInfoVerb shows a service's registrations.
var serviceInfoVerb = &verb{
	name:     "service info",
	synopsis: "Display an individual Roam service registration",
	help: `
Usage: roam service info [options] <service_name>

  Info is used to read the registrations of a Roam service, by name.

General Options:
` + generalOptionsHelp + `

Service Info Options:

  -json
    Output the service registrations in JSON format.

  -verbose
    Display full information.
`,
	run: (*cli).serviceInfo,
}

// serviceDeleteVerb deletes one registration.
var serviceDeleteVerb = &verb{
	name:     "service delete",
	synopsis: "Deregister a registered service",
	help: `
Usage: roam service delete [options] <service_name> <service_id>

  Delete is used to deregister the specified Roam service registration. It
  should be used with caution and can only remove a single registration,
  via the service name and service ID, at a time.

General Options:
` + generalOptionsHelp,
	run: (*cli).serviceDelete,
}

// serviceList implements `service list`.
func (c *cli) serviceList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	stubs, _, err := client.Services().List(nil)
	if err != nil {
		c.errorf("Error listing service registrations: %s", err)
		return 1
	}
	var count int
	for _, ns := range stubs {
		count += len(ns.Services)
	}
	if *asJSON {
		return c.printJSON(stubs)
	}
	if count == 0 {
		c.outf("No service registrations found")
		return 0
	}
	c.outf("%s", formatServiceList(stubs, c.namespace() == "*"))
	return 0
}

// formatServiceList renders Nomad's service table; all namespaces add a
// Namespace column.
func formatServiceList(stubs []*api.ServiceRegistrationListStub, allNamespaces bool) string {
	rows := []string{"Service Name|Tags"}
	if allNamespaces {
		rows[0] = "Service Name|Namespace|Tags"
	}
	for _, ns := range stubs {
		for _, s := range ns.Services {
			tags := "[" + strings.Join(s.Tags, ",") + "]"
			if allNamespaces {
				rows = append(rows, s.ServiceName+"|"+ns.Namespace+"|"+tags)
			} else {
				rows = append(rows, s.ServiceName+"|"+tags)
			}
		}
	}
	return formatList(rows)
}

// serviceInfo implements `service info`.
func (c *cli) serviceInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	verbose := fs.Bool("verbose", false, "")
	client, code, ok := c.connect(v, fs, args, argCount{1, 1, "This command takes one argument: <service_name>"})
	if !ok {
		return code
	}
	regs, _, err := client.Services().Get(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error reading service registration: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(regs)
	}
	if len(regs) == 0 {
		c.errorf("No service registration found")
		return 1
	}
	out := formatServiceInfo(regs)
	if *verbose {
		out = formatServiceInfoVerbose(regs)
	}
	clusterAddrs := map[string]string{}
	for _, r := range regs {
		alloc, _, err := client.Allocations().Info(r.AllocID, &api.QueryOptions{Namespace: r.Namespace})
		if err == nil && alloc.NetworkStatus != nil {
			clusterAddrs[r.AllocID] = alloc.NetworkStatus.Address
		}
	}
	routes, known := agentRoutes(client)
	if table := formatServiceAllocations(regs, clusterAddrs, routes, known); table != "" {
		out += "\n\nAllocations\n" + table
	}
	c.outf("%s", out)
	return 0
}

// formatServiceInfo renders one row per registration.
func formatServiceInfo(regs []*api.ServiceRegistration) string {
	rows := []string{"Job ID|Address|Tags|Node ID|Alloc ID"}
	for _, r := range regs {
		rows = append(rows, strings.Join([]string{
			r.JobID, serviceAddress(r), "[" + strings.Join(r.Tags, ",") + "]",
			shortID(r.NodeID, false), shortID(r.AllocID, false),
		}, "|"))
	}
	return formatList(rows)
}

// formatServiceInfoVerbose renders every field of each registration.
func formatServiceInfoVerbose(regs []*api.ServiceRegistration) string {
	blocks := make([]string, 0, len(regs))
	for _, r := range regs {
		blocks = append(blocks, formatKV([]string{
			"ID|" + r.ID, "Service Name|" + r.ServiceName, "Namespace|" + r.Namespace,
			"Job ID|" + r.JobID, "Alloc ID|" + r.AllocID, "Node ID|" + r.NodeID,
			"Datacenter|" + r.Datacenter, "Address|" + serviceAddress(r),
			"Tags|[" + strings.Join(r.Tags, ",") + "]",
		}))
	}
	return strings.Join(blocks, "\n\n")
}

func serviceAddress(r *api.ServiceRegistration) string {
	if strings.Contains(r.Address, ":") {
		return "[" + r.Address + "]:" + strconv.Itoa(r.Port)
	}
	return fmt.Sprintf("%s:%d", r.Address, r.Port)
}

// serviceDelete implements `service delete`.
func (c *cli) serviceDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, argCount{2, 2, "This command takes two arguments: <service_name> and <service_id>"})
	if !ok {
		return code
	}
	if _, err := client.Services().Delete(fs.Arg(0), fs.Arg(1), nil); err != nil {
		c.errorf("Error deleting service registration: %s", err)
		return 1
	}
	c.outf("Successfully deleted service registration")
	return 0
}
