package command

import (
	"strings"
)

// takesDeployment is the argument check of deployment verbs.
var takesDeployment = argCount{1, 1, "This command takes one argument: <deployment id>"}

// deploymentPromoteVerb promotes a deployment's canaries.
var deploymentPromoteVerb = &verb{
	name:     "deployment promote",
	synopsis: "Promote canaries in a deployment",
	help: `
Usage: roam deployment promote [options] <deployment id>

  Promote is used to promote task groups in a deployment. Promotion should
  occur when the deployment has placed canaries for a task group and those
  canaries have been deemed healthy. When a task group is promoted, the
  rolling upgrade of the remaining allocations is unblocked.

General Options:
` + generalOptionsHelp + `

Promote Options:

  -group
    Group may be specified many times and is used to promote that particular
    group. If no specific groups are specified, all groups are promoted.
`,
	run: (*cli).deploymentPromote,
}

// groupFlags collects repeated -group flags.
type groupFlags []string

func (g *groupFlags) String() string     { return strings.Join(*g, ",") }
func (g *groupFlags) Set(v string) error { *g = append(*g, v); return nil }

func (c *cli) deploymentPromote(v *verb, args []string) int {
	fs := c.flagSet(v)
	var groups groupFlags
	fs.Var(&groups, "group", "")
	client, code, ok := c.connect(v, fs, args, takesDeployment)
	if !ok {
		return code
	}
	d, err := resolveDeployment(client, fs.Arg(0))
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if len(groups) == 0 {
		_, _, err = client.Deployments().PromoteAll(d.ID, nil)
	} else {
		_, _, err = client.Deployments().PromoteGroups(d.ID, groups, nil)
	}
	if err != nil {
		c.errorf("Error promoting deployment: %s", err)
		return 1
	}
	c.outf("Deployment %q promoted", shortID(d.ID, false))
	return 0
}

// deploymentFailVerb marks a deployment failed.
var deploymentFailVerb = &verb{
	name:     "deployment fail",
	synopsis: "Manually fail a deployment",
	help: `
Usage: roam deployment fail [options] <deployment id>

  Fail is used to mark a deployment as failed. Failing a deployment will
  stop the placement of new allocations as part of rolling deployment and
  if the job is configured to auto revert, the job will attempt to roll back
  to a stable version.

General Options:
` + generalOptionsHelp,
	run: (*cli).deploymentFail,
}

func (c *cli) deploymentFail(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesDeployment)
	if !ok {
		return code
	}
	d, err := resolveDeployment(client, fs.Arg(0))
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if _, _, err := client.Deployments().Fail(d.ID, nil); err != nil {
		c.errorf("Error failing deployment: %s", err)
		return 1
	}
	c.outf("Deployment %q failed", shortID(d.ID, false))
	return 0
}
