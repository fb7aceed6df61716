package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
	"github.com/roam-project/roam/jobspec"
)

// jobInspectVerb prints a registered job.
var jobInspectVerb = &verb{
	name:     "job inspect",
	aliases:  []string{"inspect"},
	synopsis: "Inspect a submitted job",
	help: `
Usage: roam job inspect [options] <job>

  Inspect is used to see the specification of a submitted job.

General Options:
` + generalOptionsHelp + `

Inspect Options:

  -version <job version>
    Display the job at the given job version.

  -json
    Output the job in its JSON format (the default).
`,
	run: (*cli).jobInspect,
}

// jobInspect implements `job inspect`: the job as {"Job": ...} JSON.
func (c *cli) jobInspect(v *verb, args []string) int {
	fs := c.flagSet(v)
	fs.Bool("json", false, "")
	version := fs.Int("version", -1, "")
	job, code, ok := c.connectJob(v, fs, args)
	if !ok {
		return code
	}
	spec, err := jobAtVersion(job, *version)
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	return c.printJSON(struct{ Job *api.Job }{spec})
}

// jobAtVersion returns the job, or a given version of it when version >= 0.
func jobAtVersion(job jobRef, version int) (*api.Job, error) {
	if version < 0 {
		spec, _, err := job.client.Jobs().Info(job.id, job.query())
		if err != nil {
			return nil, fmt.Errorf("Error inspecting job: %s", err)
		}
		return spec, nil
	}
	versions, _, _, err := job.client.Jobs().Versions(job.id, false, job.query())
	if err != nil {
		return nil, fmt.Errorf("Error retrieving job versions: %s", err)
	}
	for _, v := range versions {
		if deref(v.Version) == uint64(version) {
			return v, nil
		}
	}
	return nil, fmt.Errorf("Job %q has no version %d", job.id, version)
}

// jobValidateVerb checks a job file.
var jobValidateVerb = &verb{
	name:     "job validate",
	aliases:  []string{"validate"},
	synopsis: "Checks if a given job specification is valid",
	help: `
Usage: roam job validate [options] <path>

  Checks if a given HCL job file has a valid specification. This can be used
  to check for any syntax errors or validation problems with a job. If the
  supplied path is "-", the job file is read from STDIN.

  The job is checked locally, then by the agent when one can be reached.

General Options:
` + generalOptionsHelp + `

Validate Options:
` + jobFileFlagsHelp,
	run: (*cli).jobValidate,
}

// jobValidate implements `job validate`.
func (c *cli) jobValidate(v *verb, args []string) int {
	var files jobFileFlags
	fs := c.flagSet(v)
	files.register(fs)
	fs.Bool("hcl2-strict", true, "")
	if code, ok := c.parseArgs(v, fs, args, takesPath); !ok {
		return code
	}
	job, err := c.parseJob(fs.Arg(0), &files)
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if err := jobspec.Validate(job); err != nil {
		c.errorf("Job validation errors:\n%s", err)
		return 1
	}
	if client, err := c.client(); err == nil {
		if resp, _, err := client.Jobs().Validate(job, nil); err == nil {
			if len(resp.ValidationErrors) > 0 {
				c.errorf("Job validation errors:\n%s", strings.Join(resp.ValidationErrors, "\n"))
				return 1
			}
			if resp.Warnings != "" {
				c.outf("Job Warnings:\n%s\n", resp.Warnings)
			}
		}
	}
	c.outf("Job validation successful")
	return 0
}

// jobHistoryVerb lists a job's versions.
var jobHistoryVerb = &verb{
	name:     "job history",
	synopsis: "Display all tracked versions of a job",
	help: `
Usage: roam job history [options] <job>

  History is used to display the known versions of a particular job. The
  command can display the diff between job versions and can be useful for
  understanding the changes that occurred to the job as well as deciding job
  versions to revert to.

General Options:
` + generalOptionsHelp + `

History Options:

  -p
    Display the difference between each job and its predecessor.

  -full
    Display the full job definition for each version.

  -version <job version>
    Display only the history for the given job version.

  -json
    Output the job versions in a JSON format.
`,
	run: (*cli).jobHistory,
}

// jobHistory implements `job history`.
func (c *cli) jobHistory(v *verb, args []string) int {
	fs := c.flagSet(v)
	showDiff := fs.Bool("p", false, "")
	full := fs.Bool("full", false, "")
	asJSON := fs.Bool("json", false, "")
	version := fs.Int("version", -1, "")
	job, code, ok := c.connectJob(v, fs, args)
	if !ok {
		return code
	}
	versions, diffs, _, err := job.client.Jobs().Versions(job.id, *showDiff, job.query())
	if err != nil {
		c.errorf("Error retrieving job versions: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(versions)
	}
	out, err := formatJobVersions(versions, diffs, historyView{diff: *showDiff, full: *full, version: *version})
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	c.outf("%s", out)
	return 0
}

// historyView holds the display flags of `job history`.
type historyView struct {
	diff, full bool
	version    int
}

// formatJobVersions renders each version, newest first, with its diff
// against the previous version when asked; diffs[i] compares versions[i]
// with versions[i+1].
func formatJobVersions(versions []*api.Job, diffs []*api.JobDiff, view historyView) (string, error) {
	var blocks []string
	for i, job := range versions {
		if view.version >= 0 && deref(job.Version) != uint64(view.version) {
			continue
		}
		rows := []string{
			fmt.Sprintf("Version|%d", deref(job.Version)),
			fmt.Sprintf("Stable|%t", deref(job.Stable)),
			"Submit Date|" + formatUnixNano(deref(job.SubmitTime)),
		}
		if t := job.VersionTag; t != nil {
			rows = append(rows, "Tag Name|"+t.Name, "Tag Description|"+t.Description)
		}
		var diff *api.JobDiff
		if view.diff && i < len(diffs) {
			diff = diffs[i]
		}
		if diff != nil {
			rows = append(rows, "Diff|")
		}
		block := formatKV(rows)
		if diff != nil {
			block = strings.TrimSuffix(block, " "+emptyCell) + "\n" + strings.TrimRight(formatJobDiff(diff, false), "\n")
		}
		if view.full {
			js, err := formatJSON(job)
			if err != nil {
				return "", err
			}
			block += "\nJob = " + js
		}
		blocks = append(blocks, block)
	}
	if len(blocks) == 0 && view.version >= 0 {
		return "", fmt.Errorf("Job has no version %d", view.version)
	}
	return strings.Join(blocks, "\n\n"), nil
}
