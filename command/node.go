package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// nodeStatusVerb lists nodes or shows one.
var nodeStatusVerb = &verb{
	name:     "node status",
	synopsis: "Display status information about nodes",
	help: `
Usage: roam node status [options] <node>

  Display status information about a given node. The list of nodes returned
  includes only nodes which jobs may be scheduled to, and includes status and
  other high-level information.

  If a node ID is passed, information for that specific node will be
  displayed, including resource usage statistics. If no node ID's are passed,
  then a short-hand list of all nodes will be displayed. The -self flag is
  useful to quickly access the status of the local node.

General Options:
` + generalOptionsHelp + `

Node Status Options:

  -self
    Query the status of the local node.

  -allocs
    Display a count of running allocations for each node.

  -os
    Display operating system name.

  -quiet
    Display only node IDs.

  -short
    Display short output. Used only when a single node is being queried, and
    drops verbose output about node allocations.

  -verbose
    Display full information.

  -json
    Output the node in its JSON format.
`,
	run: (*cli).nodeStatus,
}

// nodeStatus implements `node status`.
func (c *cli) nodeStatus(v *verb, args []string) int {
	fs := c.flagSet(v)
	self := fs.Bool("self", false, "")
	verbose := fs.Bool("verbose", false, "")
	short := fs.Bool("short", false, "")
	asJSON := fs.Bool("json", false, "")
	withAllocs := fs.Bool("allocs", false, "")
	withOS := fs.Bool("os", false, "")
	quiet := fs.Bool("quiet", false, "")
	withStats := fs.Bool("stats", false, "")
	client, code, ok := c.connect(v, fs, args, takesOneOrNoArgs)
	if !ok {
		return code
	}
	if fs.NArg() == 0 && !*self {
		if *quiet && (*verbose || *asJSON) {
			c.errorf("-quiet cannot be used with -verbose or -json")
			return 1
		}
		return c.nodeList(client, nodeListView{verbose: *verbose, json: *asJSON, os: *withOS, quiet: *quiet, allocs: *withAllocs})
	}
	node, err := findNode(client, fs.Arg(0), *self, *verbose)
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(node)
	}
	return c.showNode(client, node, nodeView{verbose: *verbose, short: *short, stats: *withStats})
}

// nodeView says how much of a node `node status` shows.
type nodeView struct {
	verbose, short, stats bool
}

// findNode returns the local node with self, else the node whose ID starts
// with prefix.
func findNode(client *api.Client, prefix string, self, verbose bool) (*api.Node, error) {
	if self {
		return localNode(client)
	}
	return resolveNode(client, prefix, verbose)
}

// localNode returns the node of the agent the CLI talks to.
func localNode(client *api.Client) (*api.Node, error) {
	self, err := client.Agent().Self()
	if err != nil {
		return nil, fmt.Errorf("Error querying agent info: %s", err)
	}
	id, _ := self.Stats["client"]["node_id"]
	if id == "" {
		return nil, fmt.Errorf("Local node ID could not be determined: is the agent running a client?")
	}
	node, _, err := client.Nodes().Info(id, nil)
	if err != nil {
		return nil, fmt.Errorf("Error querying node info: %s", err)
	}
	return node, nil
}

// nodeListView says which columns the node list shows.
type nodeListView struct {
	verbose, json, os, quiet, allocs bool
}

// nodeList prints the table of all nodes.
func (c *cli) nodeList(client *api.Client, view nodeListView) int {
	q := &api.QueryOptions{}
	if view.os {
		q.Params = map[string]string{"os": "true"}
	}
	nodes, _, err := client.Nodes().List(q)
	if err != nil {
		c.errorf("Error querying node status: %s", err)
		return 1
	}
	if view.quiet && len(nodes) > 0 {
		for _, n := range nodes {
			c.outf("%s", n.ID)
		}
		return 0
	}
	running := map[string]int{}
	if view.allocs {
		for _, n := range nodes {
			allocs, _, err := client.Nodes().Allocations(n.ID, nil)
			if err != nil {
				c.errorf("Error querying node allocations: %s", err)
				return 1
			}
			for _, a := range allocs {
				if a.ClientStatus == "running" {
					running[n.ID]++
				}
			}
		}
	}
	return printList(c, nodes, view.json, "No nodes registered",
		func() string { return formatNodeListView(nodes, view, running) })
}

// formatNodeList renders Nomad's node list table.
func formatNodeList(nodes []*api.NodeListStub, verbose bool) string {
	return formatNodeListView(nodes, nodeListView{verbose: verbose}, nil)
}

// formatNodeListView renders the node list table with the columns of view,
// in Nomad's order; running counts each node's running allocations.
func formatNodeListView(nodes []*api.NodeListStub, view nodeListView, running map[string]int) string {
	header := "ID|Node Pool|DC|Name|Class|"
	if view.os {
		header += "OS|"
	}
	if view.verbose {
		header += "Address|Version|"
	}
	header += "Drain|Eligibility|Status"
	if view.allocs {
		header += "|Running Allocs"
	}
	rows := []string{header}
	for _, n := range nodes {
		cells := []string{shortID(n.ID, view.verbose), n.NodePool, n.Datacenter, n.Name, n.NodeClass}
		if view.os {
			cells = append(cells, n.Attributes["os.name"])
		}
		if view.verbose {
			cells = append(cells, n.Address, n.Version)
		}
		cells = append(cells, fmt.Sprint(n.Drain), n.SchedulingEligibility, n.Status)
		if view.allocs {
			cells = append(cells, fmt.Sprint(running[n.ID]))
		}
		rows = append(rows, strings.Join(cells, "|"))
	}
	return formatList(rows)
}

// showNode prints one node: its header, events, resources and allocations.
func (c *cli) showNode(client *api.Client, node *api.Node, view nodeView) int {
	verbose, short := view.verbose, view.short
	var stats *api.HostStats
	if node.Status == "ready" {
		stats, _ = client.Nodes().Stats(node.ID, nil)
	}
	c.outf("%s", formatKV(nodeHeader(node, stats, verbose)))
	if short {
		return 0
	}
	c.outf("\nNode Events\n%s", formatNodeEvents(node.Events, verbose))
	allocs, _, err := client.Nodes().Allocations(node.ID, nil)
	if err != nil {
		c.errorf("Error querying node allocations: %s", err)
		return 1
	}
	c.outf("\nAllocated Resources\n%s", formatNodeAllocated(node, allocs))
	if stats != nil {
		c.outf("\nAllocation Resource Utilization\n%s", formatAllocUtilization(node, allocStats(client, allocs)))
		c.outf("\nHost Resource Utilization\n%s", formatHostStats(node, stats))
		if len(stats.DeviceStats) > 0 {
			c.outf("\nDevice Resource Utilization\n%s", formatDeviceUtilization(stats.DeviceStats))
		}
	}
	hasDevices := node.NodeResources != nil && len(node.NodeResources.Devices) > 0
	if verbose && hasDevices {
		c.outf("\nDevices\n%s", formatDeviceInstances(node))
	}
	if view.stats && stats != nil && len(stats.DeviceStats) > 0 {
		c.outf("\nDevice Stats\n%s", formatDeviceStats(stats.DeviceStats))
	}
	stubs := make([]*api.AllocationListStub, 0, len(allocs))
	for _, a := range allocs {
		stubs = append(stubs, a.Stub())
	}
	sortAllocStubs(stubs)
	c.outf("\nAllocations")
	if len(stubs) == 0 {
		c.outf("No allocations placed")
	} else {
		c.outf("%s", formatAllocListStubs(stubs, verbose, c.now()))
	}
	if verbose {
		c.outf("\nAttributes\n%s", formatKV(mapRows(node.Attributes)))
		if hasDevices {
			c.outf("\nDevice Group Attributes\n%s", formatDeviceAttributes(node))
		}
		if len(node.Meta) > 0 {
			c.outf("\nMeta\n%s", formatKV(mapRows(node.Meta)))
		}
	}
	return 0
}

// nodeHeader returns the key/value rows at the top of `node status <id>`.
// formatDrain describes a node's drain as Nomad's `node status` does: with
// its deadline ("no deadline", "force drain" or the time) and whether system
// jobs stay.
func formatDrain(node *api.Node) string {
	d := node.DrainStrategy
	if d == nil {
		return fmt.Sprint(node.Drain)
	}
	out := "true"
	switch {
	case d.Deadline < 0:
		out += "; force drain"
	case d.ForceDeadline.IsZero():
		out += "; no deadline"
	default:
		out += "; " + formatTime(d.ForceDeadline) + " deadline"
	}
	if d.IgnoreSystemJobs {
		out += "; ignoring system jobs"
	}
	return out
}

func nodeHeader(node *api.Node, stats *api.HostStats, verbose bool) []string {
	uptime := ""
	if stats != nil {
		uptime = (time.Duration(stats.Uptime) * time.Second).String()
	}
	return []string{
		"ID|" + node.ID,
		"Name|" + node.Name,
		"Node Pool|" + node.NodePool,
		"Class|" + node.NodeClass,
		"DC|" + node.Datacenter,
		"Drain|" + formatDrain(node),
		"Eligibility|" + node.SchedulingEligibility,
		"Status|" + node.Status,
		"CSI Controllers|" + strings.Join(sortedKeys(node.CSIControllerPlugins), ","),
		"CSI Drivers|" + strings.Join(sortedKeys(node.CSINodePlugins), ","),
		"Uptime|" + uptime,
		"Host Volumes|" + strings.Join(sortedKeys(node.HostVolumes), ","),
		"Host Networks|" + strings.Join(sortedKeys(node.HostNetworks), ","),
		"CSI Volumes|",
		"Driver Status|" + healthyDrivers(node.Drivers),
	}
}

// healthyDrivers lists the detected and healthy drivers, sorted.
func healthyDrivers(drivers map[string]*api.DriverInfo) string {
	var names []string
	for _, name := range sortedKeys(drivers) {
		if d := drivers[name]; d != nil && d.Detected && d.Healthy {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}

// formatNodeEvents renders the node's events, newest first.
func formatNodeEvents(events []*api.NodeEvent, verbose bool) string {
	sorted := append([]*api.NodeEvent(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Timestamp.After(sorted[j].Timestamp) })
	header := "Time|Subsystem|Message"
	if verbose {
		header += "|Details"
	}
	rows := []string{header}
	for _, e := range sorted {
		row := formatTime(e.Timestamp) + "|" + e.Subsystem + "|" + e.Message
		if verbose {
			row += "|" + formatTags(e.Details)
		}
		rows = append(rows, row)
	}
	return formatList(rows)
}

// formatNodeAllocated renders the resources reserved by the node's live
// allocations against what the node offers to them.
func formatNodeAllocated(node *api.Node, allocs []*api.Allocation) string {
	var cpu, mem, disk int
	for _, a := range allocs {
		if a.ClientTerminalStatus() || a.ServerTerminalStatus() {
			continue
		}
		c, m := allocReservation(a)
		cpu, mem = cpu+c, mem+m
		disk += allocDiskMB(a)
	}
	totalCPU, totalMem, totalDisk := nodeCapacity(node)
	return formatList([]string{
		"CPU|Memory|Disk",
		fmt.Sprintf("%d/%d MHz|%s/%s|%s/%s", cpu, totalCPU,
			humanBytes(mib(mem)), humanBytes(mib(totalMem)),
			humanBytes(mib(disk)), humanBytes(mib(totalDisk))),
	})
}

// nodeCapacity returns the CPU (MHz), memory and disk (MiB) the node offers
// to allocations: its resources less what it reserves.
func nodeCapacity(node *api.Node) (cpu, mem, disk int) {
	if r := node.NodeResources; r != nil {
		cpu, mem, disk = int(r.Cpu.CpuShares), int(r.Memory.MemoryMB), int(r.Disk.DiskMB)
	}
	if r := node.ReservedResources; r != nil {
		cpu -= int(r.Cpu.CpuShares)
		mem -= int(r.Memory.MemoryMB)
		disk -= int(r.Disk.DiskMB)
	}
	return cpu, mem, disk
}

// allocStats reads the measured use of the node's running allocations,
// skipping those whose stats cannot be read.
func allocStats(client *api.Client, allocs []*api.Allocation) []*api.AllocResourceUsage {
	var usage []*api.AllocResourceUsage
	for _, a := range allocs {
		if a.ClientStatus != api.AllocClientStatusRunning {
			continue
		}
		if u, err := client.Allocations().Stats(a, nil); err == nil && u != nil {
			usage = append(usage, u)
		}
	}
	return usage
}

// formatAllocUtilization renders the CPU and memory the allocations use
// against what the node offers them.
func formatAllocUtilization(node *api.Node, usage []*api.AllocResourceUsage) string {
	var ticks float64
	var rss uint64
	for _, u := range usage {
		if u.ResourceUsage == nil {
			continue
		}
		if cs := u.ResourceUsage.CpuStats; cs != nil {
			ticks += cs.TotalTicks
		}
		if ms := u.ResourceUsage.MemoryStats; ms != nil {
			rss += ms.RSS
		}
	}
	totalCPU, totalMem, _ := nodeCapacity(node)
	return formatList([]string{
		"CPU|Memory",
		fmt.Sprintf("%d/%d MHz|%s/%s", int(ticks), totalCPU, humanBytes(rss), humanBytes(mib(totalMem))),
	})
}

// formatHostStats renders the host's measured CPU, memory and disk use.
func formatHostStats(node *api.Node, stats *api.HostStats) string {
	totalCPU := 0
	if node.NodeResources != nil {
		totalCPU = int(node.NodeResources.Cpu.CpuShares)
	}
	var memUsed, memTotal, diskUsed, diskTotal uint64
	if stats.Memory != nil {
		memUsed, memTotal = stats.Memory.Used, stats.Memory.Total
	}
	if d := stats.AllocDirStats; d != nil {
		diskUsed, diskTotal = d.Used, d.Size
	}
	return formatList([]string{
		"CPU|Memory|Disk",
		fmt.Sprintf("%d/%d MHz|%s/%s|%s/%s", int(stats.CPUTicksConsumed), totalCPU,
			humanBytes(memUsed), humanBytes(memTotal), humanBytes(diskUsed), humanBytes(diskTotal)),
	})
}

// mib converts mebibytes to bytes.
func mib(n int) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n) * 1024 * 1024
}

// mapRows turns a map into sorted "key|value" rows.
func mapRows(m map[string]string) []string {
	rows := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, k+"|"+m[k])
	}
	return rows
}
