package command

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// evalStatusVerb shows one evaluation.
var evalStatusVerb = &verb{
	name:     "eval status",
	synopsis: "Display evaluation status and placement failure reasons",
	help: `
Usage: roam eval status [options] <evaluation>

  Display information about evaluations. This command can be used to inspect
  the current status of an evaluation as well as determine the reason an
  evaluation did not place all allocations.

General Options:
` + generalOptionsHelp + `

Eval Status Options:

  -monitor
    Monitor an outstanding evaluation

  -verbose
    Show full information.

  -json
    Output the evaluation in its JSON format.
`,
	run: (*cli).evalStatus,
}

// evalListVerb lists evaluations.
var evalListVerb = &verb{
	name:     "eval list",
	synopsis: "List the set of evaluations",
	help: `
Usage: roam eval list [options]

  List is used to list the set of evaluations processed by Roam.

General Options:
` + generalOptionsHelp + `

Eval List Options:

  -verbose
    Show full information.

  -json
    Output the evaluations in JSON format.

  -job <job_id>
    Only show evaluations for this job ID.

  -status <status>
    Only show evaluations with this status.
`,
	run: (*cli).evalList,
}

// evalStatus implements `eval status`.
func (c *cli) evalStatus(v *verb, args []string) int {
	fs := c.flagSet(v)
	monitor := fs.Bool("monitor", false, "")
	verbose := fs.Bool("verbose", false, "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, argCount{1, 1, "This command takes one argument"})
	if !ok {
		return code
	}
	eval, err := resolveEval(client, fs.Arg(0))
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if *monitor {
		return c.monitorEval(client, eval.ID, *verbose)
	}
	if *asJSON {
		return c.printJSON(eval)
	}
	c.outf("%s", formatEvalStatus(eval, *verbose, c.now()))
	return 0
}

// formatEvalStatus renders `eval status`: the header and, when placement
// failed, the reasons per task group.
func formatEvalStatus(eval *api.Evaluation, verbose bool, now time.Time) string {
	when := func(ns int64) string {
		if verbose {
			return formatUnixNano(ns)
		}
		return prettyTimeDiff(time.Unix(0, ns), now)
	}
	failures, failed := evalFailureStatus(eval)
	rows := []string{
		"ID|" + shortID(eval.ID, verbose),
		"Create Time|" + when(eval.CreateTime),
		"Modify Time|" + when(eval.ModifyTime),
		"Status|" + eval.Status,
		"Status Description|" + eval.StatusDescription,
		"Type|" + eval.Type,
		"TriggeredBy|" + eval.TriggeredBy,
	}
	if eval.JobID != "" {
		rows = append(rows, "Job ID|"+eval.JobID)
	}
	rows = append(rows, "Namespace|"+eval.Namespace)
	if eval.NodeID != "" {
		rows = append(rows, "Node ID|"+shortID(eval.NodeID, verbose))
	}
	if eval.DeploymentID != "" {
		rows = append(rows, "Deployment ID|"+shortID(eval.DeploymentID, verbose))
	}
	rows = append(rows, "Priority|"+strconv.Itoa(eval.Priority), "Placement Failures|"+failures)
	if verbose {
		rows = append(rows, "Previous Eval|"+eval.PreviousEval, "Next Eval|"+eval.NextEval,
			"Blocked Eval|"+eval.BlockedEval)
	}
	out := formatKV(rows)
	if !failed {
		return out
	}
	out += "\n\nFailed Placements"
	for _, tg := range sortedKeys(eval.FailedTGAllocs) {
		m := eval.FailedTGAllocs[tg]
		out += fmt.Sprintf("\nTask Group %q (failed to place %s):\n%s",
			tg, allocCount(m.CoalescedFailures+1), formatAllocMetrics(m, "  "))
	}
	if eval.BlockedEval != "" {
		out += fmt.Sprintf("\n\nEvaluation %q waiting for additional capacity to place remainder",
			shortID(eval.BlockedEval, verbose))
	}
	return out
}

// evalFailureStatus says whether the evaluation failed to place
// allocations: "true", "false", or "N/A - In Progress" while blocked.
func evalFailureStatus(eval *api.Evaluation) (string, bool) {
	failed := len(eval.FailedTGAllocs) > 0
	if eval.Status == api.EvalStatusBlocked {
		return "N/A - In Progress", failed
	}
	return strconv.FormatBool(failed), failed
}

// evalList implements `eval list`.
func (c *cli) evalList(v *verb, args []string) int {
	fs := c.flagSet(v)
	verbose := fs.Bool("verbose", false, "")
	asJSON := fs.Bool("json", false, "")
	job := fs.String("job", "", "")
	status := fs.String("status", "", "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	evals, _, err := client.Evaluations().List(nil)
	if err != nil {
		c.errorf("Error querying evaluations: %v", err)
		return 1
	}
	evals = filterEvals(evals, *job, *status)
	return printList(c, evals, *asJSON, "No evals found",
		func() string { return formatEvalList(evals, *verbose) })
}

// filterEvals keeps the evaluations of job and in status, where given.
func filterEvals(evals []*api.Evaluation, job, status string) []*api.Evaluation {
	var kept []*api.Evaluation
	for _, e := range evals {
		if (job == "" || e.JobID == job) && (status == "" || e.Status == status) {
			kept = append(kept, e)
		}
	}
	return kept
}

// formatEvalList renders Nomad's evaluation table.
func formatEvalList(evals []*api.Evaluation, verbose bool) string {
	rows := []string{"ID|Priority|Triggered By|Job ID|Namespace|Node ID|Status|Placement Failures"}
	for _, e := range evals {
		failures, _ := evalFailureStatus(e)
		rows = append(rows, strings.Join([]string{
			shortID(e.ID, verbose), strconv.Itoa(e.Priority), e.TriggeredBy, e.JobID,
			e.Namespace, shortID(e.NodeID, verbose), e.Status, failures,
		}, "|"))
	}
	return formatList(rows)
}
