package command

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/roam-project/roam/jobspec"
)

// jobRunVerb submits a job and monitors its evaluation.
var jobRunVerb = &verb{
	name:     "job run",
	aliases:  []string{"run"},
	synopsis: "Run a new job or update an existing job",
	help: `
Usage: roam job run [options] <path>

  Starts running a new job or updates an existing job using the
  specification located at <path>. This is the main command used to interact
  with Roam. If the supplied path is "-", the job file is read from STDIN.

  Upon successful job submission, this command will immediately enter an
  interactive monitor. This is useful to watch Roam's internals make
  scheduling decisions and place the submitted work onto nodes. The monitor
  will end once job placement is done. It is safe to exit the monitor early
  using ctrl+c.

  On successful job submission and scheduling, exit code 0 will be returned.
  If there are job placement issues encountered (unsatisfiable constraints,
  resource exhaustion, etc), then the exit code will be 2. Any other errors,
  including deployment failures, client connection issues, or internal
  errors, are indicated by exit code 1.

General Options:
` + generalOptionsHelp + `

Run Options:

  -check-index
    If set, the job is only registered or updated if the passed job modify
    index matches the server side version. If a check-index value of zero is
    passed, the job is only registered if it does not yet exist. If a
    non-zero value is passed, it ensures that the job is being updated from a
    known state. The use of this flag is most common in conjunction with plan
    command.

  -detach
    Return immediately instead of entering monitor mode. After job submission,
    the evaluation ID will be printed to the screen, which can be used to
    examine the evaluation using the eval-status command.

  -eval-priority
    Override the priority of the evaluations produced as a result of this job
    submission. By default, this is set to the priority of the job.

  -output
    Output the JSON that would be submitted to the HTTP API without
    submitting the job.

  -policy-override
    Sets the flag to force override any soft mandatory Sentinel policies.

  -preserve-counts
    If set, the existing task group counts will be preserved when updating a
    job.
` + jobFileFlagsHelp + `
  -verbose
    Display full information.
`,
	run: (*cli).jobRun,
}

// jobFileFlags are the flags that control how a job file is parsed.
type jobFileFlags struct {
	vars, varFiles stringList
}

// jobFileFlagsHelp documents the flags that control how a job file is
// parsed.
const jobFileFlagsHelp = `
  -var 'key=value'
    Variable for template, can be used multiple times.

  -var-file=path
    Path to HCL2 file containing user variables.
`

// register adds -var and -var-file to fs.
func (f *jobFileFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.vars, "var", "")
	fs.Var(&f.varFiles, "var-file", "")
}

// parseJob reads and parses a job file ("-" reads standard input) with the
// variables given on the command line and in NOMAD_VAR_* variables.
func (c *cli) parseJob(path string, f *jobFileFlags) (*api.Job, error) {
	opts := &jobspec.Options{Vars: f.vars, VarFiles: f.varFiles, Env: os.Environ(), Strict: true}
	if path != "-" {
		job, err := jobspec.ParseFile(path, opts)
		if err != nil {
			return nil, fmt.Errorf("Error parsing job file from %s:\n%s", path, err)
		}
		return job, nil
	}
	src, err := io.ReadAll(c.in)
	if err != nil {
		return nil, fmt.Errorf("Error reading stdin: %s", err)
	}
	job, err := jobspec.Parse("stdin.nomad.hcl", src, opts)
	if err != nil {
		return nil, fmt.Errorf("Error parsing job file from stdin:\n%s", err)
	}
	return job, nil
}

// jobSubmission is the job file as written, sent with a registration so
// that the servers keep it (`/v1/job/<id>/submission`, the UI). Standard
// input, already consumed by parsing, is not kept.
func jobSubmission(path string, f *jobFileFlags) *api.JobSubmission {
	if path == "-" {
		return nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	format := "hcl2"
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		format = "json"
	case ".yaml", ".yml":
		format = "yaml"
	}
	sub := &api.JobSubmission{Source: string(src), Format: format, VariableFlags: map[string]string{}}
	for _, kv := range f.vars {
		if k, v, ok := strings.Cut(kv, "="); ok {
			sub.VariableFlags[k] = v
		}
	}
	for _, vf := range f.varFiles {
		if b, err := os.ReadFile(vf); err == nil {
			sub.Variables += string(b) + "\n"
		}
	}
	return sub
}

// jobRun implements `job run`.
func (c *cli) jobRun(v *verb, args []string) int {
	var files jobFileFlags
	fs := c.flagSet(v)
	files.register(fs)
	detach := fs.Bool("detach", false, "")
	output := fs.Bool("output", false, "")
	verbose := fs.Bool("verbose", false, "")
	checkIndex := fs.String("check-index", "", "")
	evalPriority := fs.Int("eval-priority", 0, "")
	policyOverride := fs.Bool("policy-override", false, "")
	preserveCounts := fs.Bool("preserve-counts", false, "")
	fs.Bool("hcl2-strict", true, "")
	if code, ok := c.parseArgs(v, fs, args, takesPath); !ok {
		return code
	}
	job, err := c.parseJob(fs.Arg(0), &files)
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if *output {
		return c.printJSON(struct{ Job *api.Job }{job})
	}
	opts := &api.RegisterOptions{PolicyOverride: *policyOverride, PreserveCounts: *preserveCounts, EvalPriority: *evalPriority,
		Submission: jobSubmission(fs.Arg(0), &files)}
	if *checkIndex != "" {
		if _, err := fmt.Sscan(*checkIndex, &opts.ModifyIndex); err != nil {
			c.errorf("Error parsing check-index value %q: %v", *checkIndex, err)
			return 1
		}
		opts.EnforceIndex = true
	}
	client, ok := c.jobClient(job)
	if !ok {
		return 1
	}
	resp, _, err := client.Jobs().RegisterOpts(job, opts, nil)
	if err != nil {
		c.errorf("Error submitting job: %s", err)
		return 1
	}
	if resp.Warnings != "" {
		c.outf("Job Warnings:\n%s\n", resp.Warnings)
	}
	return c.afterRegister(client, job, resp.EvalID, *detach, *verbose)
}

// jobClient builds a client that targets the job's own region when the
// job names one, and its namespace: as in Nomad, a namespace the job file
// names wins over -namespace and the environment.
func (c *cli) jobClient(job *api.Job) (*api.Client, bool) {
	if r := deref(job.Region); r != "" && r != "global" && c.conn.region == "" {
		c.conn.region = r
	}
	if ns := deref(job.Namespace); ns != "" {
		c.conn.namespace = ns
	}
	return c.clientOrFail()
}

// afterRegister reports a registration: periodic and parameterized jobs and
// -detach print a summary, everything else is monitored.
func (c *cli) afterRegister(client *api.Client, job *api.Job, evalID string, detach, verbose bool) int {
	switch {
	case isPeriodic(job) && job.ParameterizedJob == nil:
		c.outf("Job registration successful")
		if next, err := job.Periodic.Next(c.now()); err == nil && !next.IsZero() {
			c.outf("Approximate next launch time: %s (%s from now)",
				formatTime(next), next.Sub(c.now()).Round(time.Second))
		}
		return 0
	case job.ParameterizedJob != nil:
		c.outf("Job registration successful")
		return 0
	case detach || evalID == "":
		c.outf("Job registration successful")
		if evalID != "" {
			c.outf("Evaluation ID: %s", evalID)
		}
		return 0
	}
	return c.monitorEval(client, evalID, verbose)
}
