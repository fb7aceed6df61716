package command

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// jobStopVerb deregisters a job.
var jobStopVerb = &verb{
	name:     "job stop",
	aliases:  []string{"stop"},
	synopsis: "Stop a running job",
	help: `
Usage: roam job stop [options] <job>

  Stop an existing job. This command is used to signal allocations to shut
  down for the given job ID. Upon successful deregistration, an interactive
  monitor session will start to display log lines as the job unwinds its
  allocations and completes shutting down. It is safe to exit the monitor
  early using ctrl+c.

General Options:
` + generalOptionsHelp + `

Stop Options:

  -detach
    Return immediately instead of entering monitor mode. After the
    deregister command is submitted, a new evaluation ID is printed to the
    screen, which can be used to examine the evaluation using the eval-status
    command.

  -eval-priority
    Override the priority of the evaluations produced as a result of this job
    deregistration. By default, this is set to the priority of the job.

  -global
    Stop a multiregion job in every region it names. By default, job stop
    stops a job in one region only. Ignored for single-region jobs.

  -purge
    Purge is used to stop the job and purge it from the system. If not set,
    the job will still be queryable and will be purged by the garbage
    collector.

  -yes
    Automatic yes to prompts.

  -verbose
    Display full information.
`,
	run: (*cli).jobStop,
}

// jobStop implements `job stop`.
func (c *cli) jobStop(v *verb, args []string) int {
	fs := c.flagSet(v)
	detach := fs.Bool("detach", false, "")
	purge := fs.Bool("purge", false, "")
	yes := fs.Bool("yes", false, "")
	verbose := fs.Bool("verbose", false, "")
	evalPriority := fs.Int("eval-priority", 0, "")
	global := fs.Bool("global", false, "")
	fs.Bool("no-shutdown-delay", false, "")
	job, code, ok := c.connectJob(v, fs, args)
	if !ok {
		return code
	}
	if job.id != fs.Arg(0) && !*yes {
		question := fmt.Sprintf("Are you sure you want to stop job %q? [y/N]", job.id)
		if code, confirmed := c.confirm(question, "Cancelling job stop"); !confirmed {
			return code
		}
	}
	opts := &api.DeregisterOptions{Purge: *purge, Global: *global, EvalPriority: *evalPriority}
	evalID, _, err := job.client.Jobs().DeregisterOpts(job.id, opts, job.write())
	if err != nil {
		c.errorf("Error deregistering job: %s", err)
		return 1
	}
	if evalID == "" {
		return 0
	}
	if *detach {
		c.outf("%s", evalID)
		return 0
	}
	return c.monitorEval(job.client, evalID, *verbose)
}

// confirm asks a yes/no question on standard input, as Nomad does before
// acting on a prefix match; cancelled is printed when the answer is no. It
// returns whether to go on and, if not, the exit code.
func (c *cli) confirm(question, cancelled string) (int, bool) {
	fmt.Fprint(c.out, question+" ")
	answer, _ := bufio.NewReader(c.in).ReadString('\n')
	answer = strings.TrimSpace(answer)
	switch {
	case answer == "y":
		return 0, true
	case answer == "" || strings.ToLower(answer)[0] == 'n':
		c.outf("%s", cancelled)
		return 0, false
	case strings.ToLower(answer)[0] == 'y':
		c.outf("For confirmation, an exact ‘y’ is required.")
		return 0, false
	}
	c.outf("No confirmation detected. For confirmation, an exact 'y' is required.")
	return 1, false
}

// jobStartVerb re-registers a stopped job.
var jobStartVerb = &verb{
	name:     "job start",
	synopsis: "Start a stopped job",
	help: `
Usage: roam job start [options] <job>

  Start an existing stopped job. This command submits the latest version of
  the job again, then monitors its evaluation like "job run".

General Options:
` + generalOptionsHelp + `

Start Options:
` + detachVerboseHelp,
	run: (*cli).jobStart,
}

// jobStart implements `job start`.
func (c *cli) jobStart(v *verb, args []string) int {
	fs := c.flagSet(v)
	detach := fs.Bool("detach", false, "")
	verbose := fs.Bool("verbose", false, "")
	job, code, ok := c.connectJob(v, fs, args)
	if !ok {
		return code
	}
	spec, err := job.info()
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if !deref(spec.Stop) {
		c.errorf("Job %q has not been stopped and has the following status: %s", job.id, deref(spec.Status))
		return 1
	}
	spec.Stop = new(bool)
	resp, _, err := job.client.Jobs().Register(spec, job.write())
	if err != nil {
		c.errorf("Error submitting job: %s", err)
		return 1
	}
	return c.afterRegister(job.client, spec, resp.EvalID, *detach, *verbose)
}

// jobScaleVerb changes a group's count.
var jobScaleVerb = &verb{
	name:     "job scale",
	synopsis: "Change the count of a job and task group",
	help: `
Usage: roam job scale [options] <job> [<group>] <count>

  Perform a scaling action by altering the count within a job group.

  Upon successful job submission, this command will immediately enter an
  interactive monitor. The group may be left out when the job has a single
  task group.

General Options:
` + generalOptionsHelp + `

Scale Options:
` + detachVerboseHelp,
	run: (*cli).jobScale,
}

// jobScale implements `job scale`.
func (c *cli) jobScale(v *verb, args []string) int {
	fs := c.flagSet(v)
	detach := fs.Bool("detach", false, "")
	verbose := fs.Bool("verbose", false, "")
	want := argCount{2, 3, "This command takes two or three arguments: <job> [<group>] <count>"}
	if code, ok := c.parseArgs(v, fs, args, want); !ok {
		return code
	}
	rest := fs.Args()
	count, err := strconv.Atoi(rest[len(rest)-1])
	if err != nil || count < 0 {
		c.errorf("Failed to convert count %q to a number", rest[len(rest)-1])
		return 1
	}
	job, ok := c.jobArg(rest[0])
	if !ok {
		return 1
	}
	group := ""
	if len(rest) == 3 {
		group = rest[1]
	} else if group, err = onlyGroup(job); err != nil {
		c.errorf("%s", err)
		return 1
	}
	msg := "submitted using the Roam CLI"
	resp, _, err := job.client.Jobs().Scale(job.id, group, &count, msg, false, nil, job.write())
	if err != nil {
		c.errorf("Error submitting scaling request: %s", err)
		return 1
	}
	return c.monitorOrDetach(job.client, resp.EvalID, *detach, *verbose, "Job scale successful")
}

// onlyGroup returns the name of the job's single task group.
func onlyGroup(job jobRef) (string, error) {
	info, err := job.info()
	if err != nil {
		return "", err
	}
	if len(info.TaskGroups) != 1 {
		return "", fmt.Errorf("Job %q has %d task groups: name the group to scale", job.id, len(info.TaskGroups))
	}
	return deref(info.TaskGroups[0].Name), nil
}

// jobRevertVerb reverts a job to an older version.
var jobRevertVerb = &verb{
	name:     "job revert",
	synopsis: "Revert to a prior version of the job",
	help: `
Usage: roam job revert [options] <job> <version>

  Revert is used to revert a job to a prior version of the job. The available
  versions to revert to can be found using "roam job history" command.

General Options:
` + generalOptionsHelp + `

Revert Options:
` + detachVerboseHelp,
	run: (*cli).jobRevert,
}

// jobRevert implements `job revert`.
func (c *cli) jobRevert(v *verb, args []string) int {
	fs := c.flagSet(v)
	detach := fs.Bool("detach", false, "")
	verbose := fs.Bool("verbose", false, "")
	want := argCount{2, 2, "This command takes two arguments: <job> <version>"}
	if code, ok := c.parseArgs(v, fs, args, want); !ok {
		return code
	}
	version, err := strconv.ParseUint(fs.Arg(1), 10, 64)
	if err != nil {
		c.errorf("The job version to revert to must be an integer: %s", err)
		return 1
	}
	job, ok := c.jobArg(fs.Arg(0))
	if !ok {
		return 1
	}
	resp, _, err := job.client.Jobs().Revert(job.id, version, nil, job.write(), "", "")
	if err != nil {
		c.errorf("Error retrieving job versions: %s", err)
		return 1
	}
	return c.monitorOrDetach(job.client, resp.EvalID, *detach, *verbose, "")
}

// monitorOrDetach monitors evalID, or with -detach prints it after the
// optional success line.
func (c *cli) monitorOrDetach(client *api.Client, evalID string, detach, verbose bool, success string) int {
	if evalID == "" {
		return 0
	}
	if detach {
		if success != "" {
			c.outf("%s", success)
		}
		c.outf("Evaluation ID: %s", evalID)
		return 0
	}
	return c.monitorEval(client, evalID, verbose)
}
