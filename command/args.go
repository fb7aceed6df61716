package command

import (
	"flag"
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// argCount is how many positional arguments a verb takes, and the message
// Nomad prints when a command line has another number.
type argCount struct {
	min, max int // max < 0: no upper bound
	usage    string
}

// The argument counts several verbs share.
var (
	takesNoArgs      = argCount{0, 0, "This command takes no arguments"}
	takesOneOrNoArgs = argCount{0, 1, "This command takes either one or no arguments"}
	takesJob         = argCount{1, 1, "This command takes one argument: <job>"}
	takesPath        = argCount{1, 1, "This command takes one argument: <path>"}
	takesFile        = argCount{1, 1, "This command takes one argument: <file>"}
	takesAllocTask   = argCount{1, 2, "This command takes one or two arguments: <allocation> [<task>]"}
)

// allows reports whether n positional arguments fit the count.
func (a argCount) allows(n int) bool {
	return n >= a.min && (a.max < 0 || n <= a.max)
}

// parseArgs parses args into fs and checks the number of positional
// arguments left. It returns ok=false with the exit code when the command
// must stop: 0 after help, 1 after a bad flag or argument count.
func (c *cli) parseArgs(v *verb, fs *flag.FlagSet, args []string, want argCount) (code int, ok bool) {
	if code, ok := c.parse(v, fs, args); !ok {
		return code, false
	}
	if !want.allows(fs.NArg()) {
		return c.usageError(v, want.usage), false
	}
	return 0, true
}

// connect parses the command line as parseArgs does, then builds the API
// client. It returns ok=false with the exit code when the command must stop.
func (c *cli) connect(v *verb, fs *flag.FlagSet, args []string, want argCount) (*api.Client, int, bool) {
	if code, ok := c.parseArgs(v, fs, args, want); !ok {
		return nil, code, false
	}
	client, ok := c.clientOrFail()
	if !ok {
		return nil, 1, false
	}
	return client, 0, true
}

// jobRef is a job named on the command line, resolved by prefix, with the
// client that found it.
type jobRef struct {
	client *api.Client
	id, ns string
}

// query returns the options that read from the job's namespace.
func (j jobRef) query() *api.QueryOptions { return &api.QueryOptions{Namespace: j.ns} }

// write returns the options that write to the job's namespace.
func (j jobRef) write() *api.WriteOptions { return &api.WriteOptions{Namespace: j.ns} }

// info fetches the job.
func (j jobRef) info() (*api.Job, error) {
	job, _, err := j.client.Jobs().Info(j.id, j.query())
	if err != nil {
		return nil, fmt.Errorf("Error querying job: %s", err)
	}
	return job, nil
}

// findJob resolves a job argument with client, printing the error when it
// fails.
func (c *cli) findJob(client *api.Client, prefix string) (jobRef, bool) {
	id, ns, err := resolveJob(client, prefix)
	if err != nil {
		c.errorf("%s", err)
		return jobRef{}, false
	}
	return jobRef{client: client, id: id, ns: ns}, true
}

// jobArg builds a client and resolves a job argument, printing the error
// when either fails.
func (c *cli) jobArg(prefix string) (jobRef, bool) {
	client, ok := c.clientOrFail()
	if !ok {
		return jobRef{}, false
	}
	return c.findJob(client, prefix)
}

// connectJob parses a command line whose one argument is a job and resolves
// that job. It returns ok=false with the exit code when the command must
// stop.
func (c *cli) connectJob(v *verb, fs *flag.FlagSet, args []string) (jobRef, int, bool) {
	if code, ok := c.parseArgs(v, fs, args, takesJob); !ok {
		return jobRef{}, code, false
	}
	job, ok := c.jobArg(fs.Arg(0))
	if !ok {
		return jobRef{}, 1, false
	}
	return job, 0, true
}

// allocArg builds a client and resolves an allocation argument, printing
// the error when either fails.
func (c *cli) allocArg(prefix string) (*api.Client, *api.Allocation, bool) {
	client, ok := c.clientOrFail()
	if !ok {
		return nil, nil, false
	}
	alloc, err := resolveAlloc(client, prefix, c.now())
	if err != nil {
		c.errorf("%s", err)
		return nil, nil, false
	}
	return client, alloc, true
}

// connectAlloc parses the command line as parseArgs does and resolves the
// allocation its first argument names. It returns ok=false with the exit
// code when the command must stop.
func (c *cli) connectAlloc(v *verb, fs *flag.FlagSet, args []string,
	want argCount) (*api.Client, *api.Allocation, int, bool) {
	if code, ok := c.parseArgs(v, fs, args, want); !ok {
		return nil, nil, code, false
	}
	client, alloc, ok := c.allocArg(fs.Arg(0))
	if !ok {
		return nil, nil, 1, false
	}
	return client, alloc, 0, true
}

// monitorEval follows an evaluation until it completes, as Nomad's monitor
// does, and returns the exit code.
func (c *cli) monitorEval(client *api.Client, evalID string, verbose bool) int {
	m := &evalMonitor{c: c, src: apiMonitorSource{client}, verbose: verbose}
	return m.monitor(evalID)
}
