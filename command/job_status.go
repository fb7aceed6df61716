package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// jobStatusVerb lists jobs or shows one.
var jobStatusVerb = &verb{
	name:     "job status",
	synopsis: "Display status information about a job",
	help: `
Usage: roam job status [options] <job>

  Display status information about a job. If no job ID is given, a list of
  all known jobs will be displayed.

General Options:
` + generalOptionsHelp + `

Status Options:

  -short
    Display short output. Used only when a single job is being queried, and
    drops verbose information about allocations.

  -all-allocs
    Display all allocations matching the job ID, including those from an
    older instance of the job.

  -json
    Output the job in its JSON format.

  -verbose
    Display full information.
`,
	run: (*cli).jobStatus,
}

// jobStatusOptions are the display flags of `job status`.
type jobStatusOptions struct{ short, allAllocs, verbose bool }

// jobStatus implements `job status`.
func (c *cli) jobStatus(v *verb, args []string) int {
	var o jobStatusOptions
	fs := c.flagSet(v)
	fs.BoolVar(&o.short, "short", false, "")
	fs.BoolVar(&o.allAllocs, "all-allocs", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesOneOrNoArgs)
	if !ok {
		return code
	}
	if fs.NArg() == 0 {
		return c.jobList(client, o.verbose, *asJSON)
	}
	job, ok := c.findJob(client, fs.Arg(0))
	if !ok {
		return 1
	}
	spec, err := job.info()
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(spec)
	}
	return c.showJob(client, spec, o)
}

// jobList prints the table of all jobs.
func (c *cli) jobList(client *api.Client, verbose, asJSON bool) int {
	jobs, _, err := client.Jobs().List(nil)
	if err != nil {
		c.errorf("Error querying jobs: %s", err)
		return 1
	}
	return printList(c, jobs, asJSON, "No running jobs",
		func() string { return formatJobList(jobs, c.namespace() == "*") })
}

// formatJobList renders Nomad's job table; allNamespaces adds the namespace
// column.
func formatJobList(jobs []*api.JobListStub, allNamespaces bool) string {
	header := "ID|Type|Priority|Status|Submit Date"
	if allNamespaces {
		header = "ID|Namespace|Type|Priority|Status|Submit Date"
	}
	rows := []string{header}
	for _, j := range jobs {
		cells := []string{j.ID}
		if allNamespaces {
			cells = append(cells, j.Namespace)
		}
		cells = append(cells, jobListType(j), fmt.Sprint(j.Priority),
			jobStatusString(j.Status, j.Stop), formatUnixNano(j.SubmitTime))
		rows = append(rows, strings.Join(cells, "|"))
	}
	return formatList(rows)
}

// jobListType is the job's type, qualified as Nomad does for periodic and
// parameterized jobs.
func jobListType(j *api.JobListStub) string {
	switch {
	case j.Periodic && !j.ParameterizedJob:
		return j.Type + "/periodic"
	case j.ParameterizedJob:
		return j.Type + "/parameterized"
	}
	return j.Type
}

// jobStatusString appends " (stopped)" to a stopped job's status.
func jobStatusString(status string, stop bool) string {
	if stop {
		return status + " (stopped)"
	}
	return status
}

// showJob prints `job status <id>`: the header, summary, latest deployment,
// placement failures and allocations.
func (c *cli) showJob(client *api.Client, job *api.Job, o jobStatusOptions) int {
	c.outf("%s", formatKV(jobHeader(job, c.now())))
	if o.short {
		return 0
	}
	q := &api.QueryOptions{Namespace: deref(job.Namespace)}
	id := deref(job.ID)
	summary, _, err := client.Jobs().Summary(id, q)
	if err != nil {
		c.errorf("Error querying job summary: %s", err)
		return 1
	}
	if isPeriodic(job) || job.ParameterizedJob != nil {
		return c.showParentJob(client, job, summary)
	}
	allocs, _, err := client.Jobs().Allocations(id, o.allAllocs, q)
	if err != nil {
		c.errorf("Error querying job allocations: %s", err)
		return 1
	}
	evals, _, err := client.Jobs().Evaluations(id, q)
	if err != nil {
		c.errorf("Error querying job evaluations: %s", err)
		return 1
	}
	// Nomad's order: summary, placement failures, future rescheduling
	// attempts, latest deployment, allocations.
	c.outf("\nSummary\n%s", formatJobSummary(summary))
	if failures := formatPlacementFailures(evals); failures != "" {
		c.outf("\nPlacement Failure\n%s", failures)
	}
	if resched := formatReschedulingEvals(rescheduleTimes(client, allocs), o.verbose, job, c.now()); resched != "" {
		c.outf("\nFuture Rescheduling Attempts\n%s", resched)
	}
	if deref(job.Type) == api.JobTypeService {
		if d, _, err := client.Jobs().LatestDeployment(id, q); err == nil && d != nil &&
			d.JobCreateIndex == deref(job.CreateIndex) {
			c.outf("\nLatest Deployment\n%s", formatLatestDeployment(d, o.verbose))
		}
	}
	if job.Multiregion != nil && len(job.Multiregion.Regions) > 0 {
		c.outf("\nMultiregion Deployment\n%s", multiregionDeployments(client, job, o.verbose))
	}
	sortAllocStubs(allocs)
	c.outf("\nAllocations")
	if len(allocs) == 0 {
		c.outf("No allocations placed")
		return 0
	}
	c.outf("%s", formatAllocListStubs(allocs, o.verbose, c.now()))
	return 0
}

// multiregionDeployments renders, for each region of a multiregion job,
// the latest deployment of the job there: "pending" where the rollout has
// not reached it yet, "unreachable" where its servers do not answer.
func multiregionDeployments(client *api.Client, job *api.Job, verbose bool) string {
	rows := []string{"Region|ID|Status"}
	for _, r := range job.Multiregion.Regions {
		if r == nil {
			continue
		}
		q := &api.QueryOptions{Namespace: deref(job.Namespace), Region: r.Name}
		d, _, err := client.Jobs().LatestDeployment(deref(job.ID), q)
		switch {
		case err != nil && strings.Contains(err.Error(), "404"):
			rows = append(rows, r.Name+"|<none>|pending")
		case err != nil:
			rows = append(rows, r.Name+"|<none>|unreachable")
		case d == nil:
			rows = append(rows, r.Name+"|<none>|pending")
		default:
			rows = append(rows, r.Name+"|"+shortID(d.ID, verbose)+"|"+d.Status)
		}
	}
	return formatList(rows)
}

// jobHeader returns the key/value rows at the top of `job status <id>`.
func jobHeader(job *api.Job, now time.Time) []string {
	periodic := isPeriodic(job)
	rows := []string{
		"ID|" + deref(job.ID),
		"Name|" + deref(job.Name),
		"Submit Date|" + formatUnixNano(deref(job.SubmitTime)),
		"Type|" + deref(job.Type),
		fmt.Sprintf("Priority|%d", deref(job.Priority)),
		"Datacenters|" + strings.Join(job.Datacenters, ","),
		"Namespace|" + deref(job.Namespace),
		"Node Pool|" + deref(job.NodePool),
		"Status|" + jobStatusString(deref(job.Status), deref(job.Stop)),
		fmt.Sprintf("Periodic|%t", periodic),
		fmt.Sprintf("Parameterized|%t", job.ParameterizedJob != nil),
	}
	if periodic && job.ParameterizedJob == nil {
		if next, err := job.Periodic.Next(now); err == nil && !next.IsZero() {
			rows = append(rows, fmt.Sprintf("Next Periodic Launch|%s (%s from now)",
				formatTime(next), next.Sub(now).Round(time.Second)))
		}
	}
	return rows
}

// formatJobSummary renders the per-group allocation counts.
func formatJobSummary(s *api.JobSummary) string {
	rows := []string{"Task Group|Queued|Starting|Running|Failed|Complete|Lost|Unknown"}
	for _, tg := range sortedKeys(s.Summary) {
		t := s.Summary[tg]
		rows = append(rows, fmt.Sprintf("%s|%d|%d|%d|%d|%d|%d|%d",
			tg, t.Queued, t.Starting, t.Running, t.Failed, t.Complete, t.Lost, t.Unknown))
	}
	return formatList(rows)
}

// formatLatestDeployment renders the "Latest Deployment" section.
func formatLatestDeployment(d *api.Deployment, verbose bool) string {
	out := formatKV([]string{
		"ID|" + shortID(d.ID, verbose),
		"Status|" + d.Status,
		"Description|" + d.StatusDescription,
	})
	if len(d.TaskGroups) > 0 {
		out += "\n\nDeployed\n" + formatDeploymentGroups(d)
	}
	return out
}

// formatPlacementFailures explains the newest placement failure while a
// blocked evaluation still waits to place the job; "" when there is none.
func formatPlacementFailures(evals []*api.Evaluation) string {
	var latest *api.Evaluation
	blocked := false
	for _, e := range evals {
		if len(e.FailedTGAllocs) > 0 && (latest == nil || latest.CreateIndex < e.CreateIndex) {
			latest = e
		}
		blocked = blocked || e.Status == api.EvalStatusBlocked
	}
	if latest == nil || !blocked {
		return ""
	}
	var parts []string
	for _, tg := range sortedKeys(latest.FailedTGAllocs) {
		parts = append(parts, fmt.Sprintf("Task Group %q:\n%s", tg, formatAllocMetrics(latest.FailedTGAllocs[tg], "  ")))
	}
	return strings.Join(parts, "\n\n")
}

// pendingReschedule is a group's delayed follow-up evaluation.
type pendingReschedule struct {
	evalID string
	at     time.Time
}

// rescheduleTimes returns, for each group, the follow-up evaluation of its
// most recently modified allocation, with when it may run.
func rescheduleTimes(client *api.Client, allocs []*api.AllocationListStub) map[string]pendingReschedule {
	latest := map[string]*api.AllocationListStub{}
	for _, a := range allocs {
		if l, ok := latest[a.TaskGroup]; !ok || a.ModifyTime > l.ModifyTime {
			latest[a.TaskGroup] = a
		}
	}
	out := map[string]pendingReschedule{}
	for tg, a := range latest {
		if a.FollowupEvalID == "" {
			continue
		}
		if e, _, err := client.Evaluations().Info(a.FollowupEvalID, nil); err == nil {
			out[tg] = pendingReschedule{evalID: e.ID, at: e.WaitUntil}
		}
	}
	return out
}

// formatReschedulingEvals renders Nomad's "Future Rescheduling Attempts"
// table of the groups whose follow-up evaluation is still to come.
func formatReschedulingEvals(pending map[string]pendingReschedule, verbose bool, job *api.Job, now time.Time) string {
	header := "Task Group|Eval ID|Eval Time"
	if verbose {
		header = "Task Group|Reschedule Policy|Eval ID|Eval Time"
	}
	rows := []string{header}
	for _, tg := range sortedKeys(pending) {
		p := pending[tg]
		if p.at.IsZero() || !p.at.After(now) {
			continue
		}
		cells := []string{tg}
		if verbose {
			policy := ""
			if g := job.LookupTaskGroup(tg); g != nil && g.ReschedulePolicy != nil {
				policy = g.ReschedulePolicy.String()
			}
			cells = append(cells, policy)
		}
		cells = append(cells, shortID(p.evalID, verbose), prettyTimeDiff(p.at, now))
		rows = append(rows, strings.Join(cells, "|"))
	}
	if len(rows) == 1 {
		return ""
	}
	return formatList(rows)
}

// isPeriodic reports whether the job is launched on a schedule.
func isPeriodic(job *api.Job) bool {
	return job.Periodic != nil && deref(job.Periodic.Enabled)
}

// showParentJob prints the rest of `job status` for a periodic or
// parameterized job: the summary of its children and the children.
func (c *cli) showParentJob(client *api.Client, job *api.Job, summary *api.JobSummary) int {
	if ch := summary.Children; ch != nil {
		heading := "Children Job Summary"
		if job.ParameterizedJob != nil {
			heading = "Parameterized Job Summary"
		}
		c.outf("\n%s\n%s", heading, formatList([]string{
			"Pending|Running|Dead",
			fmt.Sprintf("%d|%d|%d", ch.Pending, ch.Running, ch.Dead),
		}))
	}
	children, _, err := client.Jobs().PrefixList(deref(job.ID) + "/")
	if err != nil {
		c.errorf("Error querying job: %s", err)
		return 1
	}
	title, kind := "Previously Launched Jobs", "periodic job"
	if job.ParameterizedJob != nil {
		title, kind = "Dispatched Jobs", "dispatched job"
	}
	c.outf("\n%s", title)
	if len(children) == 0 {
		c.outf("No instances of %s found", kind)
		return 0
	}
	rows := []string{"ID|Status"}
	for _, ch := range children {
		rows = append(rows, ch.ID+"|"+ch.Status)
	}
	c.outf("%s", formatList(rows))
	return 0
}
