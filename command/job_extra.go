package command

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// jobAllocsVerb lists a job's allocations.
var jobAllocsVerb = &verb{
	name:     "job allocs",
	synopsis: "List allocations for a job",
	help: `
Usage: roam job allocs [options] <job>

  Display allocations for a particular job.

General Options:
` + generalOptionsHelp + `

Allocs Options:

  -all
    Display all allocations matching the job ID, even those from an older
    instance of the job.

  -json
    Output the allocations in a JSON format.

  -verbose
    Display full information.
`,
	run: (*cli).jobAllocs,
}

// jobAllocs implements `job allocs`.
func (c *cli) jobAllocs(v *verb, args []string) int {
	fs := c.flagSet(v)
	all := fs.Bool("all", false, "")
	asJSON := fs.Bool("json", false, "")
	verbose := fs.Bool("verbose", false, "")
	job, code, ok := c.connectJob(v, fs, args)
	if !ok {
		return code
	}
	allocs, _, err := job.client.Jobs().Allocations(job.id, *all, job.query())
	if err != nil {
		c.errorf("Error retrieving allocations: %s", err)
		return 1
	}
	return printList(c, allocs, *asJSON, "No allocations placed", func() string {
		sortAllocStubs(allocs)
		return formatAllocListStubs(allocs, *verbose, c.now())
	})
}

// jobEvalVerb forces an evaluation of a job.
var jobEvalVerb = &verb{
	name:     "job eval",
	synopsis: "Force an evaluation for the job",
	help: `
Usage: roam job eval [options] <job>

  Force an evaluation of the provided job ID. Forcing an evaluation will
  trigger the scheduler to re-evaluate the job.

General Options:
` + generalOptionsHelp + `

Eval Options:

  -force-reschedule
    Force reschedule failed allocations even if they are not currently
    eligible for rescheduling.
` + detachVerboseHelp,
	run: (*cli).jobEval,
}

// jobEval implements `job eval`.
func (c *cli) jobEval(v *verb, args []string) int {
	fs := c.flagSet(v)
	force := fs.Bool("force-reschedule", false, "")
	detach := fs.Bool("detach", false, "")
	verbose := fs.Bool("verbose", false, "")
	job, code, ok := c.connectJob(v, fs, args)
	if !ok {
		return code
	}
	opts := api.EvalOptions{ForceReschedule: *force}
	evalID, _, err := job.client.Jobs().EvaluateWithOpts(job.id, opts, job.write())
	if err != nil {
		c.errorf("Error evaluating job: %s", err)
		return 1
	}
	if *detach {
		c.outf("Created eval ID: %q ", shortID(evalID, *verbose))
		return 0
	}
	return c.monitorOrDetach(job.client, evalID, false, *verbose, "")
}

// jobPeriodicForceVerb launches a periodic job now.
var jobPeriodicForceVerb = &verb{
	name:     "job periodic force",
	synopsis: "Force the launch of a periodic job",
	help: `
Usage: roam job periodic force [options] <job>

  This command is used to force the creation of a new instance of a periodic
  job. This is used to immediately run a periodic job, even if it violates
  the job's prohibit_overlap setting.

General Options:
` + generalOptionsHelp + `

Periodic Force Options:
` + detachVerboseHelp,
	run: (*cli).jobPeriodicForce,
}

// jobPeriodicForce implements `job periodic force`.
func (c *cli) jobPeriodicForce(v *verb, args []string) int {
	fs := c.flagSet(v)
	detach := fs.Bool("detach", false, "")
	verbose := fs.Bool("verbose", false, "")
	job, code, ok := c.connectJob(v, fs, args)
	if !ok {
		return code
	}
	evalID, _, err := job.client.Jobs().PeriodicForce(job.id, job.write())
	if err != nil {
		c.errorf("Error forcing periodic job %q: %s", job.id, err)
		return 1
	}
	return c.monitorOrDetach(job.client, evalID, *detach, *verbose, "Force periodic successful")
}

// jobDispatchVerb dispatches a parameterized job.
var jobDispatchVerb = &verb{
	name:     "job dispatch",
	synopsis: "Dispatch an instance of a parameterized job",
	help: `
Usage: roam job dispatch [options] <parameterized job> [input source]

  Dispatch creates an instance of a parameterized job. A data payload to the
  dispatched instance can be provided via stdin by using "-" or by specifying
  a path to a file. Metadata can be supplied by using the meta flag one or
  more times.

General Options:
` + generalOptionsHelp + `

Dispatch Options:

  -meta <key>=<value>
    Meta takes a key/value pair separated by "=". The metadata key will be
    merged into the job's metadata. The flag can be provided more than once
    to inject multiple metadata key/value pairs.

  -id-prefix-template <prefix>
    Optional prefix template for dispatched job IDs.
` + detachVerboseHelp,
	run: (*cli).jobDispatch,
}

// jobDispatch implements `job dispatch`.
func (c *cli) jobDispatch(v *verb, args []string) int {
	var metaPairs stringList
	fs := c.flagSet(v)
	fs.Var(&metaPairs, "meta", "")
	prefix := fs.String("id-prefix-template", "", "")
	detach := fs.Bool("detach", false, "")
	verbose := fs.Bool("verbose", false, "")
	want := argCount{1, 2, "This command takes one or two arguments: <parameterized job> [input source]"}
	if code, ok := c.parseArgs(v, fs, args, want); !ok {
		return code
	}
	meta := map[string]string{}
	for _, pair := range metaPairs {
		k, val, found := strings.Cut(pair, "=")
		if !found {
			c.errorf("Error parsing meta value: %v", pair)
			return 1
		}
		meta[k] = val
	}
	payload, err := c.readPayload(fs.Arg(1))
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	client, ok := c.clientOrFail()
	if !ok {
		return 1
	}
	opts := &api.DispatchOptions{JobID: fs.Arg(0), Meta: meta, Payload: payload, IdPrefixTemplate: *prefix}
	resp, _, err := client.Jobs().DispatchOpts(opts, nil)
	if err != nil {
		c.errorf("Failed to dispatch job: %s", err)
		return 1
	}
	c.outf("%s", formatKV([]string{
		"Dispatched Job ID|" + resp.DispatchedJobID,
		"Evaluation ID|" + shortID(resp.EvalID, *verbose),
	}))
	if *detach || resp.EvalID == "" {
		return 0
	}
	c.outf("")
	return c.monitorOrDetach(client, resp.EvalID, false, *verbose, "")
}

// readPayload reads a dispatch payload from a file, from standard input for
// "-", or returns nil when no source is given.
func (c *cli) readPayload(source string) ([]byte, error) {
	switch source {
	case "":
		return nil, nil
	case "-":
		data, err := io.ReadAll(c.in)
		if err != nil {
			return nil, fmt.Errorf("Error reading from stdin: %s", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(source)
	if err != nil {
		return nil, fmt.Errorf("Error reading input data: %s", err)
	}
	return data, nil
}
