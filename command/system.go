package command

// systemGCVerb runs the cluster garbage collector.
var systemGCVerb = &verb{
	name:     "system gc",
	synopsis: "Run the system garbage collection process",
	help: `
Usage: roam system gc [options]

  Initializes a garbage collection of jobs, evaluations, allocations, and
  nodes.

General Options:
` + generalOptionsHelp + `
`,
	run: (*cli).systemGC,
}

// systemGC asks the servers to collect garbage; it prints nothing on success.
func (c *cli) systemGC(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	if err := client.System().GarbageCollect(); err != nil {
		c.errorf("Error running system garbage-collection: %s", err)
		return 1
	}
	return 0
}
