package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// Exit codes of `job plan`, as Nomad documents them.
const (
	planNoChanges = 0
	planChanges   = 1
	planError     = 255
)

// jobPlanVerb runs the scheduler in dry-run mode.
var jobPlanVerb = &verb{
	name:     "job plan",
	aliases:  []string{"plan"},
	synopsis: "Dry-run a job update to determine its effects",
	help: `
Usage: roam job plan [options] <path>

  Plan invokes a dry-run of the scheduler to determine the effects of
  submitting either a new or updated version of a job. The plan will not
  result in any changes to the cluster but gives insight into whether the job
  could be run successfully and how it would affect existing allocations.

  If the supplied path is "-", the job file is read from STDIN.

  A job modify index is returned with the plan. This value can be used when
  submitting the job using "roam job run -check-index", which will check that
  the job was not modified between the plan and run command before invoking
  the scheduler. This ensures the job has not been modified since the plan.

  A structured diff between the local and remote job is displayed to give
  insight into what the scheduler will attempt to do and why.

  Plan will return one of the following exit codes:
    * 0: No allocations created or destroyed.
    * 1: Allocations created or destroyed.
    * 255: Error determining plan results.

General Options:
` + generalOptionsHelp + `

Plan Options:

  -diff
    Determines whether the diff between the remote job and planned job is
    shown. Defaults to true.

  -policy-override
    Sets the flag to force override any soft mandatory Sentinel policies.
` + jobFileFlagsHelp + `
  -verbose
    Increase diff verbosity.
`,
	run: (*cli).jobPlan,
}

// jobPlanHint follows the plan: how to run the job with the index checked.
const jobPlanHint = `To submit the job with version verification run:

roam job run -check-index %d %s

When running the job with the check-index flag, the job will only be run if the
job modify index given matches the server-side version. If the index has
changed, another user has modified the job and the plan's results are
potentially invalid.`

// jobPlan implements `job plan`.
func (c *cli) jobPlan(v *verb, args []string) int {
	var files jobFileFlags
	fs := c.flagSet(v)
	files.register(fs)
	showDiff := fs.Bool("diff", true, "")
	verbose := fs.Bool("verbose", false, "")
	policyOverride := fs.Bool("policy-override", false, "")
	fs.Bool("hcl2-strict", true, "")
	if code, ok := c.parseArgs(v, fs, args, takesPath); !ok {
		if code == 0 {
			return 0
		}
		return planError
	}
	path := fs.Arg(0)
	job, err := c.parseJob(path, &files)
	if err != nil {
		c.errorf("%s", err)
		return planError
	}
	client, ok := c.jobClient(job)
	if !ok {
		return planError
	}
	resp, _, err := client.Jobs().PlanOpts(job, &api.PlanOptions{Diff: true, PolicyOverride: *policyOverride}, nil)
	if err != nil {
		c.errorf("Error during plan: %s", err)
		return planError
	}
	c.outf("%s", formatPlan(resp, job, path, *showDiff, *verbose))
	return planExitCode(resp)
}

// formatPlan renders the whole plan: the diff, the scheduler's dry-run,
// warnings and the check-index hint.
func formatPlan(resp *api.JobPlanResponse, job *api.Job, path string, showDiff, verbose bool) string {
	var b strings.Builder
	if showDiff && resp.Diff != nil {
		b.WriteString(strings.TrimSpace(formatJobDiff(resp.Diff, verbose)) + "\n\n")
	}
	b.WriteString("Scheduler dry-run:\n")
	b.WriteString(formatDryRun(resp, job) + "\n\n")
	if resp.Warnings != "" {
		fmt.Fprintf(&b, "Job Warnings:\n%s\n\n", resp.Warnings)
	}
	fmt.Fprintf(&b, "Job Modify Index: %d\n", resp.JobModifyIndex)
	fmt.Fprintf(&b, jobPlanHint, resp.JobModifyIndex, path)
	return b.String()
}

// formatDryRun says whether every allocation could be placed and, if not,
// why; it also mentions rolling updates and the next periodic launch.
func formatDryRun(resp *api.JobPlanResponse, job *api.Job) string {
	var lines []string
	if len(resp.FailedTGAllocs) == 0 {
		lines = append(lines, "- All tasks successfully allocated.")
	} else {
		if deref(job.Type) == api.JobTypeSystem {
			lines = append(lines, "- WARNING: Failed to place allocations on all nodes.")
		} else {
			lines = append(lines, "- WARNING: Failed to place all allocations.")
		}
		for _, tg := range sortedKeys(resp.FailedTGAllocs) {
			m := resp.FailedTGAllocs[tg]
			lines = append(lines, fmt.Sprintf("  Task Group %q (failed to place %s):", tg, allocCount(m.CoalescedFailures+1)),
				formatAllocMetrics(m, "    "), "")
		}
		lines = lines[:len(lines)-1]
	}
	for _, e := range resp.CreatedEvals {
		if e.TriggeredBy == "rolling-update" {
			lines = append(lines, fmt.Sprintf("- Rolling update, next evaluation will be in %s.", e.Wait))
		}
	}
	if next := resp.NextPeriodicLaunch; !next.IsZero() && job.ParameterizedJob == nil {
		lines = append(lines, fmt.Sprintf("- If submitted now, next periodic launch would be at %s.", formatTime(next)))
	}
	return strings.Join(lines, "\n")
}

// planExitCode is 1 when the plan creates, stops, migrates or replaces
// allocations and 0 otherwise.
func planExitCode(resp *api.JobPlanResponse) int {
	if resp.Annotations == nil {
		return planNoChanges
	}
	for _, u := range resp.Annotations.DesiredTGUpdates {
		if u.Stop+u.Place+u.Migrate+u.DestructiveUpdate+u.Canary > 0 {
			return planChanges
		}
	}
	return planNoChanges
}
