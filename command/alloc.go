package command

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// allocStatusVerb shows one allocation.
var allocStatusVerb = &verb{
	name:     "alloc status",
	synopsis: "Display allocation status information and metadata",
	help: `
Usage: roam alloc status [options] <allocation>

  Display information about existing allocations and its tasks. This command
  can be used to inspect the current status of an allocation, including its
  running status, metadata, and verbose failure messages reported by internal
  subsystems.

General Options:
` + generalOptionsHelp + `

Alloc Status Options:

  -short
    Display short output. Shows only the most recent task event.

  -stats
    Display detailed resource usage statistics.

  -verbose
    Show full information.

  -json
    Output the allocation in its JSON format.
`,
	run: (*cli).allocStatus,
}

// allocStatus implements `alloc status`.
func (c *cli) allocStatus(v *verb, args []string) int {
	fs := c.flagSet(v)
	short := fs.Bool("short", false, "")
	stats := fs.Bool("stats", false, "")
	verbose := fs.Bool("verbose", false, "")
	asJSON := fs.Bool("json", false, "")
	want := argCount{1, 1, "This command takes one of the following argument conditions:\n * A single <allocation>"}
	client, alloc, code, ok := c.connectAlloc(v, fs, args, want)
	if !ok {
		return code
	}
	if *asJSON {
		return c.printJSON(alloc)
	}
	var usage *api.AllocResourceUsage
	if alloc.ClientStatus == api.AllocClientStatusRunning {
		usage, _ = client.Allocations().Stats(alloc, nil)
	}
	view := allocView{verbose: *verbose, short: *short, stats: *stats}
	if alloc.FollowupEvalID != "" {
		if eval, _, err := client.Evaluations().Info(alloc.FollowupEvalID, nil); err == nil {
			view.rescheduleAt = eval.WaitUntil
		}
	}
	if checks, err := client.Allocations().Checks(alloc.ID, &api.QueryOptions{Namespace: alloc.Namespace}); err == nil && !*short {
		view.checks = formatServiceChecks(checks)
	}
	if regs, _, err := client.Allocations().Services(alloc.ID, &api.QueryOptions{Namespace: alloc.Namespace}); err == nil && !*short {
		routes, known := agentRoutes(client)
		view.ingress = formatIngressInstances(regs, routes, known)
	}
	c.outf("%s", formatAllocStatus(alloc, usage, view, c.now()))
	return 0
}

// allocView holds the display flags of `alloc status`, and the
// allocation's ingress routes as formatIngressInstances renders them.
type allocView struct {
	verbose, short, stats bool
	// checks is the table of the allocation's Nomad service checks.
	checks string
	// rescheduleAt is when the allocation's follow-up evaluation may
	// reschedule it (zero for none).
	rescheduleAt time.Time
	ingress      string
}

// formatAllocStatus renders the whole of `alloc status`: the header, the
// allocation's addresses and each task's resources and events.
func formatAllocStatus(alloc *api.Allocation, usage *api.AllocResourceUsage, view allocView, now time.Time) string {
	if view.short {
		// Nomad's -short header is the identity and the times only.
		return formatKV(allocShortHeader(alloc, now)) + "\n\nTasks\n" + formatTaskSummary(alloc)
	}
	parts := []string{formatKV(allocHeader(alloc, view.verbose, view.rescheduleAt, now))}
	if addrs := formatAllocAddresses(alloc); addrs != "" {
		parts = append(parts, addrs)
	}
	if view.checks != "" {
		parts = append(parts, view.checks)
	}
	if view.ingress != "" {
		parts = append(parts, "Ingress Routes\n"+view.ingress)
	}
	for _, task := range orderedTasks(alloc) {
		parts = append(parts, formatTaskStatus(alloc, task, usage, view))
	}
	if view.verbose && alloc.Metrics != nil {
		parts = append(parts, "Placement Metrics\n"+formatPlacementMetrics(alloc.Metrics))
	}
	return strings.Join(parts, "\n\n")
}

// formatPlacementMetrics renders why nodes were filtered and how the
// candidate nodes scored.
func formatPlacementMetrics(m *api.AllocationMetric) string {
	var parts []string
	if reasons := formatAllocMetrics(m, "  "); reasons != "" {
		parts = append(parts, reasons)
	}
	if len(m.ScoreMetaData) == 0 {
		return strings.Join(parts, "\n")
	}
	names := map[string]bool{}
	for _, s := range m.ScoreMetaData {
		for name := range s.Scores {
			names[name] = true
		}
	}
	scorers := sortedKeys(names)
	rows := []string{"Node|" + strings.Join(scorers, "|") + "|final score"}
	for _, s := range m.ScoreMetaData {
		cells := []string{s.NodeID}
		for _, name := range scorers {
			cells = append(cells, fmt.Sprintf("%.3g", s.Scores[name]))
		}
		rows = append(rows, strings.Join(append(cells, fmt.Sprintf("%.3g", s.NormScore)), "|"))
	}
	return strings.Join(append(parts, formatList(rows)), "\n")
}

// allocShortHeader returns the key/value rows at the top of `alloc status
// -short`.
func allocShortHeader(alloc *api.Allocation, now time.Time) []string {
	return []string{
		"ID|" + alloc.ID,
		"Name|" + alloc.Name,
		"Created|" + prettyTimeDiff(time.Unix(0, alloc.CreateTime), now),
		"Modified|" + prettyTimeDiff(time.Unix(0, alloc.ModifyTime), now),
	}
}

// allocHeader returns the key/value rows at the top of `alloc status`.
// rescheduleAt, when in the future, shows as the allocation's "Reschedule
// Eligibility".
func allocHeader(alloc *api.Allocation, verbose bool, rescheduleAt, now time.Time) []string {
	when := func(ns int64) string {
		if verbose {
			return formatUnixNano(ns)
		}
		return prettyTimeDiff(time.Unix(0, ns), now)
	}
	rows := []string{
		"ID|" + alloc.ID,
		"Eval ID|" + shortID(alloc.EvalID, verbose),
		"Name|" + alloc.Name,
		"Node ID|" + shortID(alloc.NodeID, verbose),
		"Node Name|" + alloc.NodeName,
		"Job ID|" + alloc.JobID,
		"Job Version|" + fmt.Sprint(jobVersion(alloc.Job)),
		"Client Status|" + alloc.ClientStatus,
		"Client Description|" + alloc.ClientDescription,
		"Desired Status|" + alloc.DesiredStatus,
		"Desired Description|" + alloc.DesiredDescription,
		"Created|" + when(alloc.CreateTime),
		"Modified|" + when(alloc.ModifyTime),
	}
	if ns := alloc.NetworkStatus; ns != nil && ns.Address != "" {
		// Roam's: the allocation's own address (bridge mode; on the
		// cluster network it answers from every node).
		rows = append(rows, "Network Address|"+ns.Address)
	}
	if alloc.DeploymentID != "" {
		rows = append(rows, "Deployment ID|"+shortID(alloc.DeploymentID, verbose),
			"Deployment Health|"+deploymentHealth(alloc.DeploymentStatus))
		if alloc.DeploymentStatus != nil && alloc.DeploymentStatus.Canary {
			rows = append(rows, "Canary|true")
		}
	}
	if rt := alloc.RescheduleTracker; rt != nil && len(rt.Events) > 0 {
		if attempts, total := alloc.RescheduleInfo(time.Unix(0, alloc.ModifyTime)); total > 0 {
			rows = append(rows, fmt.Sprintf("Reschedule Attempts|%d/%d", attempts, total))
		}
	}
	if alloc.NextAllocation != "" {
		rows = append(rows, "Replacement Alloc ID|"+shortID(alloc.NextAllocation, verbose))
	}
	if alloc.FollowupEvalID != "" && rescheduleAt.After(now) {
		rows = append(rows, "Reschedule Eligibility|"+prettyTimeDiff(rescheduleAt, now))
	}
	if verbose && alloc.Metrics != nil {
		m := alloc.Metrics
		rows = append(rows,
			fmt.Sprintf("Evaluated Nodes|%d", m.NodesEvaluated),
			fmt.Sprintf("Filtered Nodes|%d", m.NodesFiltered),
			fmt.Sprintf("Exhausted Nodes|%d", m.NodesExhausted),
			fmt.Sprintf("Allocation Time|%s", m.AllocationTime),
			fmt.Sprintf("Failures|%d", m.CoalescedFailures))
	}
	return rows
}

// jobVersion returns the version of job, or 0 when it is unknown.
func jobVersion(job *api.Job) uint64 {
	if job == nil {
		return 0
	}
	return deref(job.Version)
}

// deploymentHealth says "healthy", "unhealthy" or "unset".
func deploymentHealth(s *api.AllocDeploymentStatus) string {
	if s == nil || s.Healthy == nil {
		return "unset"
	}
	if *s.Healthy {
		return "healthy"
	}
	return "unhealthy"
}

// formatAllocAddresses renders the group network's ports, or "" when the
// allocation has none.
func formatAllocAddresses(alloc *api.Allocation) string {
	if alloc.AllocatedResources == nil || len(alloc.AllocatedResources.Shared.Ports) == 0 {
		return ""
	}
	shared := alloc.AllocatedResources.Shared
	mode := "host"
	if len(shared.Networks) > 0 && shared.Networks[0].Mode != "" {
		mode = shared.Networks[0].Mode
	}
	rows := []string{"Label|Dynamic|Address"}
	for _, p := range shared.Ports {
		label, dynamic := p.Label, "no"
		if isDynamicPort(shared.Networks, p.Label) {
			label, dynamic = "*"+p.Label, "yes"
		}
		addr := net.JoinHostPort(p.HostIP, fmt.Sprint(p.Value))
		if p.To > 0 {
			addr += fmt.Sprintf(" -> %d", p.To)
		}
		rows = append(rows, label+"|"+dynamic+"|"+addr)
	}
	return fmt.Sprintf("Allocation Addresses (mode = %q):\n%s", mode, formatList(rows))
}

// isDynamicPort reports whether label names a dynamic port of networks.
func isDynamicPort(networks []*api.NetworkResource, label string) bool {
	for _, n := range networks {
		for _, p := range n.DynamicPorts {
			if p.Label == label {
				return true
			}
		}
	}
	return false
}

// formatTaskStatus renders one task: its state line, resources and events.
func formatTaskStatus(alloc *api.Allocation, task string, usage *api.AllocResourceUsage, view allocView) string {
	state := alloc.TaskStates[task]
	var taskUsage *api.TaskResourceUsage
	if usage != nil {
		taskUsage = usage.Tasks[task]
	}
	parts := []string{
		fmt.Sprintf("Task %q%s is %q", task, lifecycleIndicator(taskLifecycles(alloc)[task]), state.State),
		"Task Resources:\n" + formatTaskResources(alloc, task, taskUsage),
	}
	if taskUsage != nil && taskUsage.ResourceUsage != nil && len(taskUsage.ResourceUsage.DeviceStats) > 0 {
		parts = append(parts, "Device Stats\n"+formatDeviceUtilization(taskUsage.ResourceUsage.DeviceStats))
	}
	if view.stats && taskUsage != nil && taskUsage.ResourceUsage != nil {
		parts = append(parts, formatDetailedStats(taskUsage.ResourceUsage))
		if len(taskUsage.ResourceUsage.DeviceStats) > 0 {
			parts = append(parts, "Detailed Device Stats\n"+formatDeviceStats(taskUsage.ResourceUsage.DeviceStats))
		}
	}
	parts = append(parts, "Task Events:\n"+formatKV(taskTimes(state)))
	parts = append(parts, "Recent Events:\n"+formatTaskEvents(state.Events))
	return strings.Join(parts[:2], "\n") + "\n\n" + strings.Join(parts[2:], "\n\n")
}

// formatTaskResources renders the task's CPU, memory, disk and addresses,
// with measured use in front of the reservation when stats are known.
func formatTaskResources(alloc *api.Allocation, task string, usage *api.TaskResourceUsage) string {
	cpu, mem := taskReservation(alloc, task)
	cpuCell := fmt.Sprint(cpu)
	memCell := humanBytes(mib(mem))
	if usage != nil && usage.ResourceUsage != nil {
		if cs := usage.ResourceUsage.CpuStats; cs != nil {
			cpuCell = fmt.Sprintf("%d/%d", int(cs.TotalTicks), cpu)
		}
		if ms := usage.ResourceUsage.MemoryStats; ms != nil {
			memCell = fmt.Sprintf("%s/%s", humanBytes(ms.RSS), memCell)
		}
	}
	return formatList([]string{
		"CPU|Memory|Disk|Addresses",
		fmt.Sprintf("%s MHz|%s|%s|%s", cpuCell, memCell, humanBytes(mib(allocDiskMB(alloc))), taskAddresses(alloc, task)),
	})
}

// taskReservation returns the CPU (MHz) and memory (MiB) reserved for task.
func taskReservation(alloc *api.Allocation, task string) (cpu, mem int) {
	if ar := alloc.AllocatedResources; ar != nil && ar.Tasks[task] != nil {
		t := ar.Tasks[task]
		return int(t.Cpu.CpuShares), int(t.Memory.MemoryMB)
	}
	if r := alloc.TaskResources[task]; r != nil {
		return deref(r.CPU), deref(r.MemoryMB)
	}
	return 0, 0
}

// allocReservation returns the CPU (MHz) and memory (MiB) reserved for all
// of the allocation's tasks.
func allocReservation(alloc *api.Allocation) (cpu, mem int) {
	tasks := map[string]bool{}
	if alloc.AllocatedResources != nil {
		for t := range alloc.AllocatedResources.Tasks {
			tasks[t] = true
		}
	}
	for t := range alloc.TaskResources {
		tasks[t] = true
	}
	for t := range tasks {
		c, m := taskReservation(alloc, t)
		cpu, mem = cpu+c, mem+m
	}
	return cpu, mem
}

// allocDiskMB returns the allocation's ephemeral disk in MiB.
func allocDiskMB(alloc *api.Allocation) int {
	if ar := alloc.AllocatedResources; ar != nil && ar.Shared.DiskMB > 0 {
		return int(ar.Shared.DiskMB)
	}
	if alloc.Resources != nil {
		return deref(alloc.Resources.DiskMB)
	}
	return 0
}

// taskAddresses lists the ports of a task-level network as "label: ip:port".
func taskAddresses(alloc *api.Allocation, task string) string {
	if alloc.AllocatedResources == nil || alloc.AllocatedResources.Tasks[task] == nil {
		return ""
	}
	var addrs []string
	for _, n := range alloc.AllocatedResources.Tasks[task].Networks {
		for _, p := range append(append([]api.Port(nil), n.ReservedPorts...), n.DynamicPorts...) {
			addrs = append(addrs, fmt.Sprintf("%s: %s", p.Label, net.JoinHostPort(n.IP, fmt.Sprint(p.Value))))
		}
	}
	return strings.Join(addrs, ", ")
}

// formatDetailedStats renders the -stats memory and CPU tables.
func formatDetailedStats(u *api.ResourceUsage) string {
	var parts []string
	if m := u.MemoryStats; m != nil {
		parts = append(parts, "Memory Stats\n"+formatList([]string{
			"RSS|Cache|Swap|Usage|Max Usage",
			strings.Join([]string{humanBytes(m.RSS), humanBytes(m.Cache), humanBytes(m.Swap),
				humanBytes(m.Usage), humanBytes(m.MaxUsage)}, "|"),
		}))
	}
	if cs := u.CpuStats; cs != nil {
		parts = append(parts, "CPU Stats\n"+formatList([]string{
			"Percent|System Mode|User Mode|Throttled Periods|Throttled Time",
			fmt.Sprintf("%.2f%%|%.2f%%|%.2f%%|%d|%d", cs.Percent, cs.SystemMode, cs.UserMode,
				cs.ThrottledPeriods, cs.ThrottledTime),
		}))
	}
	return strings.Join(parts, "\n\n")
}

// taskTimes returns the "Task Events:" rows: start, finish and restarts.
func taskTimes(state *api.TaskState) []string {
	orNA := func(t time.Time) string {
		if t.IsZero() {
			return "N/A"
		}
		return formatTime(t)
	}
	return []string{
		"Started At|" + orNA(state.StartedAt),
		"Finished At|" + orNA(state.FinishedAt),
		fmt.Sprintf("Total Restarts|%d", state.Restarts),
		"Last Restart|" + orNA(state.LastRestart),
	}
}

// formatTaskEvents renders the task's events newest first.
func formatTaskEvents(events []*api.TaskEvent) string {
	rows := []string{"Time|Type|Description"}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		rows = append(rows, formatUnixNano(e.Time)+"|"+e.Type+"|"+eventDescription(e))
	}
	return formatList(rows)
}

// formatTaskSummary renders the -short "Tasks" table: each task's state and
// its latest event.
func formatTaskSummary(alloc *api.Allocation) string {
	lifecycles := taskLifecycles(alloc)
	rows := []string{"Name|State|Last Event|Time|Lifecycle"}
	for _, name := range orderedTasks(alloc) {
		state := alloc.TaskStates[name]
		event, when := "", ""
		if n := len(state.Events); n > 0 {
			event, when = state.Events[n-1].Type, formatUnixNano(state.Events[n-1].Time)
		}
		rows = append(rows, strings.Join([]string{name, state.State, event, when, taskLifecycle(lifecycles[name])}, "|"))
	}
	return formatList(rows)
}

// formatServiceChecks renders Nomad's "Nomad Service Checks" table, empty
// when the allocation has no checks.
func formatServiceChecks(checks api.AllocCheckStatuses) string {
	if len(checks) == 0 {
		return ""
	}
	var rows []string
	for _, c := range checks {
		task := c.Task
		if task == "" {
			task = "(group)"
		}
		rows = append(rows, strings.Join([]string{c.Service, task, c.Check, c.Mode, c.Status}, "|"))
	}
	sort.Strings(rows)
	return "Nomad Service Checks:\n" + formatList(append([]string{"Service|Task|Name|Mode|Status"}, rows...))
}

// taskLifecycle names a task's lifecycle as the -short Tasks table shows
// it: "main", or the hook, followed by "sidecar" for a sidecar.
func taskLifecycle(l *api.TaskLifecycle) string {
	if l == nil || l.Hook == "" {
		return "main"
	}
	if l.Sidecar {
		return l.Hook + " sidecar"
	}
	return l.Hook
}

// lifecycleIndicator is the " (prestart)" after a hook task's name in its
// heading, empty for a main task.
func lifecycleIndicator(l *api.TaskLifecycle) string {
	if l == nil || l.Hook == "" {
		return ""
	}
	return " (" + taskLifecycle(l) + ")"
}

// taskLifecycles maps the allocation's tasks to their lifecycle blocks.
func taskLifecycles(alloc *api.Allocation) map[string]*api.TaskLifecycle {
	out := map[string]*api.TaskLifecycle{}
	if alloc.Job == nil {
		return out
	}
	if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil {
		for _, t := range tg.Tasks {
			out[t.Name] = t.Lifecycle
		}
	}
	return out
}

// orderedTasks lists the allocation's tasks as Nomad's alloc status does:
// by name, hook tasks before sidecars, main tasks last.
func orderedTasks(alloc *api.Allocation) []string {
	names := sortedKeys(alloc.TaskStates)
	lcs := taskLifecycles(alloc)
	rank := func(name string) int {
		switch lc := lcs[name]; {
		case lc == nil || lc.Hook == "":
			return 2
		case lc.Sidecar:
			return 1
		}
		return 0
	}
	sort.SliceStable(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	return names
}

// eventDescription returns the message a task event shows to people.
func eventDescription(e *api.TaskEvent) string {
	desc := e.DisplayMessage
	if desc == "" {
		desc = e.Message
	}
	return strings.ReplaceAll(desc, "|", "/")
}

// formatAllocListStubs renders Nomad's allocation table, newest first as
// given.
func formatAllocListStubs(stubs []*api.AllocationListStub, verbose bool, now time.Time) string {
	header := "ID|Node ID|Task Group|Version|Desired|Status|Created|Modified"
	if verbose {
		header = "ID|Eval ID|Node ID|Node Name|Task Group|Version|Desired|Status|Created|Modified"
	}
	rows := []string{header}
	for _, a := range stubs {
		created, modified := prettyTimeDiff(time.Unix(0, a.CreateTime), now), prettyTimeDiff(time.Unix(0, a.ModifyTime), now)
		cells := []string{shortID(a.ID, verbose)}
		if verbose {
			created, modified = formatUnixNano(a.CreateTime), formatUnixNano(a.ModifyTime)
			cells = append(cells, shortID(a.EvalID, verbose))
		}
		cells = append(cells, shortID(a.NodeID, verbose))
		if verbose {
			cells = append(cells, a.NodeName)
		}
		cells = append(cells, a.TaskGroup, fmt.Sprint(a.JobVersion), a.DesiredStatus, a.ClientStatus, created, modified)
		rows = append(rows, strings.Join(cells, "|"))
	}
	return formatList(rows)
}

// sortAllocStubs orders allocations newest first, as Nomad lists them.
func sortAllocStubs(stubs []*api.AllocationListStub) {
	sort.SliceStable(stubs, func(i, j int) bool { return stubs[i].CreateIndex > stubs[j].CreateIndex })
}
