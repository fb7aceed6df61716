package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// statusVerb shows whatever object an identifier prefix names.
var statusVerb = &verb{
	name:     "status",
	synopsis: "Display the status output for a resource",
	help: `
Usage: roam status [options] <identifier>

  Display the status output for any Roam resource matching the given
  identifier or prefix: a job, an allocation, a node or an evaluation.

  If no identifier is given, the status of all jobs is shown.

General Options:
` + generalOptionsHelp + `

Status Options:

  -verbose
    Display full information.

  -json
    Output the resource in its JSON format.
`,
	run: (*cli).status,
}

// status implements the generic `status` verb by finding which kind of
// object the prefix names and handing over to that kind's status verb.
func (c *cli) status(v *verb, args []string) int {
	fs := c.flagSet(v)
	fs.Bool("verbose", false, "")
	fs.Bool("json", false, "")
	if code, ok := c.parseArgs(v, fs, args, takesOneOrNoArgs); !ok {
		return code
	}
	flagArgs := args[:len(args)-fs.NArg()]
	if fs.NArg() == 0 {
		return c.jobStatus(jobStatusVerb, flagArgs)
	}
	client, ok := c.clientOrFail()
	if !ok {
		return 1
	}
	prefix := fs.Arg(0)
	kinds, err := matchingKinds(client, prefix)
	if err != nil {
		c.errorf("Error querying identifier: %s", err)
		return 1
	}
	switch len(kinds) {
	case 0:
		c.errorf("No matches found for prefix %q", prefix)
		return 1
	case 1:
		return kinds[0].run(c, kinds[0], append(flagArgs, prefix))
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = strings.TrimSuffix(k.name, " status")
	}
	c.errorf("Prefix %q matched multiple types: %s. Use \"roam <type> status %s\".",
		prefix, strings.Join(names, ", "), prefix)
	return 1
}

// matchingKinds returns the status verbs of the kinds of objects whose IDs
// start with prefix: jobs, allocations, nodes and evaluations.
func matchingKinds(client *api.Client, prefix string) ([]*verb, error) {
	var kinds []*verb
	jobs, _, err := client.Jobs().PrefixList(prefix)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	for _, j := range jobs {
		if strings.HasPrefix(j.ID, prefix) {
			kinds = append(kinds, jobStatusVerb)
			break
		}
	}
	if len(prefix) < 2 {
		return kinds, nil
	}
	uuid := sanitizeUUIDPrefix(prefix)
	checks := []struct {
		v    *verb
		list func() ([]string, error)
	}{
		{allocStatusVerb, func() ([]string, error) {
			l, _, err := client.Allocations().PrefixList(uuid)
			return stubIDs(l, func(a *api.AllocationListStub) string { return a.ID }), err
		}},
		{nodeStatusVerb, func() ([]string, error) {
			l, _, err := client.Nodes().PrefixList(uuid)
			return stubIDs(l, func(n *api.NodeListStub) string { return n.ID }), err
		}},
		{evalStatusVerb, func() ([]string, error) {
			l, _, err := client.Evaluations().PrefixList(uuid)
			return stubIDs(l, func(e *api.Evaluation) string { return e.ID }), err
		}},
	}
	for _, check := range checks {
		ids, err := check.list()
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", check.v.name, err)
		}
		for _, id := range ids {
			if strings.HasPrefix(id, prefix) {
				kinds = append(kinds, check.v)
				break
			}
		}
	}
	return kinds, nil
}

// stubIDs maps a list of objects to their IDs.
func stubIDs[T any](items []T, id func(T) string) []string {
	ids := make([]string, len(items))
	for i, item := range items {
		ids[i] = id(item)
	}
	return ids
}
