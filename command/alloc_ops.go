package command

// allocStopVerb stops and reschedules an allocation.
var allocStopVerb = &verb{
	name:     "alloc stop",
	synopsis: "Stop and reschedule a running allocation",
	help: `
Usage: roam alloc stop [options] <allocation>

  Stop an existing allocation. This command is used to signal a specific
  alloc to shut down. When the allocation has been shut down, it will then be
  rescheduled.

General Options:
` + generalOptionsHelp + `

Stop Specific Options:

  -detach
    Return immediately instead of entering monitor mode.

  -verbose
    Show full information.
`,
	run: (*cli).allocStop,
}

// allocStop implements `alloc stop`.
func (c *cli) allocStop(v *verb, args []string) int {
	fs := c.flagSet(v)
	detach := fs.Bool("detach", false, "")
	verbose := fs.Bool("verbose", false, "")
	fs.Bool("no-shutdown-delay", false, "")
	want := argCount{1, 1, "This command takes one argument: <allocation>"}
	client, alloc, code, ok := c.connectAlloc(v, fs, args, want)
	if !ok {
		return code
	}
	resp, err := client.Allocations().Stop(alloc, nil)
	if err != nil {
		c.errorf("Error stopping allocation: %s", err)
		return 1
	}
	if *detach {
		c.outf("%s", resp.EvalID)
		return 0
	}
	return c.monitorOrDetach(client, resp.EvalID, false, *verbose, "")
}

// allocRestartVerb restarts an allocation's tasks in place.
var allocRestartVerb = &verb{
	name:     "alloc restart",
	synopsis: "Restart a running allocation",
	help: `
Usage: roam alloc restart [options] <allocation> <task>

  Restart an existing allocation. This command is used to restart a specific
  alloc and its tasks. If no task is provided then all of the allocation's
  tasks that are currently running will be restarted.

General Options:
` + generalOptionsHelp + `

Restart Specific Options:

  -all-tasks
    If set, all tasks in the allocation will be restarted, even the ones that
    already ran.

  -task <task-name>
    Specify the individual task to restart.
`,
	run: (*cli).allocRestart,
}

// allocRestart implements `alloc restart`.
func (c *cli) allocRestart(v *verb, args []string) int {
	fs := c.flagSet(v)
	all := fs.Bool("all-tasks", false, "")
	task := fs.String("task", "", "")
	fs.Bool("verbose", false, "")
	if code, ok := c.parseArgs(v, fs, args, takesAllocTask); !ok {
		return code
	}
	*task = taskName(*task, fs)
	if *all && *task != "" {
		c.errorf("The -all-tasks option cannot be used when a task is specified")
		return 1
	}
	client, alloc, ok := c.allocArg(fs.Arg(0))
	if !ok {
		return 1
	}
	var err error
	switch {
	case *all:
		err = client.Allocations().RestartAllTasks(alloc, nil)
	default:
		if *task != "" {
			if *task, err = pickTask(alloc, *task); err != nil {
				c.errorf("%s", err)
				return 1
			}
		}
		err = client.Allocations().Restart(alloc, *task, nil)
	}
	if err != nil {
		c.errorf("Failed to restart allocation:\n\n%s", err)
		return 1
	}
	return 0
}

// allocSignalVerb sends a signal to an allocation's tasks.
var allocSignalVerb = &verb{
	name:     "alloc signal",
	synopsis: "Signal a running allocation",
	help: `
Usage: roam alloc signal [options] <allocation> <task>

  Signal an existing allocation. This command is used to signal a specific
  alloc and its subtasks. If no task is provided then all of the allocation's
  subtasks will receive the signal.

General Options:
` + generalOptionsHelp + `

Signal Specific Options:

  -s
    Specify the signal that the selected tasks should receive.

  -task <task-name>
    Specify the individual task that will receive the signal.
`,
	run: (*cli).allocSignal,
}

// allocSignal implements `alloc signal`.
func (c *cli) allocSignal(v *verb, args []string) int {
	fs := c.flagSet(v)
	signal := fs.String("s", "SIGKILL", "")
	task := fs.String("task", "", "")
	fs.Bool("verbose", false, "")
	if code, ok := c.parseArgs(v, fs, args, takesAllocTask); !ok {
		return code
	}
	*task = taskName(*task, fs)
	client, alloc, ok := c.allocArg(fs.Arg(0))
	if !ok {
		return 1
	}
	if *task != "" {
		var err error
		if *task, err = pickTask(alloc, *task); err != nil {
			c.errorf("%s", err)
			return 1
		}
	}
	if err := client.Allocations().Signal(alloc, nil, *task, *signal); err != nil {
		c.errorf("Error signalling allocation: %s", err)
		return 1
	}
	return 0
}
