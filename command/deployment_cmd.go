package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// deploymentListVerb lists deployments.
var deploymentListVerb = &verb{
	name:     "deployment list",
	synopsis: "List all deployments",
	help: `
Usage: roam deployment list [options]

  List is used to list the set of deployments tracked by Roam.

General Options:
` + generalOptionsHelp + `

List Options:

  -json
    Output the deployments in a JSON format.

  -verbose
    Display full information.
`,
	run: (*cli).deploymentList,
}

// deploymentList implements `deployment list`.
func (c *cli) deploymentList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	verbose := fs.Bool("verbose", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	deployments, _, err := client.Deployments().List(nil)
	if err != nil {
		c.errorf("Error retrieving deployments: %s", err)
		return 1
	}
	return printList(c, deployments, *asJSON, "No deployments found",
		func() string { return formatDeploymentList(deployments, *verbose) })
}

// formatDeploymentList renders Nomad's deployment table.
func formatDeploymentList(deployments []*api.Deployment, verbose bool) string {
	rows := []string{"ID|Job ID|Job Version|Status|Description"}
	for _, d := range deployments {
		rows = append(rows, strings.Join([]string{shortID(d.ID, verbose), d.JobID,
			fmt.Sprint(d.JobVersion), d.Status, d.StatusDescription}, "|"))
	}
	return formatList(rows)
}

// deploymentStatusVerb shows one deployment.
var deploymentStatusVerb = &verb{
	name:     "deployment status",
	synopsis: "Display the status of a deployment",
	help: `
Usage: roam deployment status [options] <deployment id>

  Status is used to display the status of a deployment. The status will
  display the number of desired changes as well as the currently applied
  changes.

General Options:
` + generalOptionsHelp + `

Status Options:

  -verbose
    Display full information.

  -json
    Output the deployment in its JSON format.
`,
	run: (*cli).deploymentStatus,
}

// deploymentStatus implements `deployment status`.
func (c *cli) deploymentStatus(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	verbose := fs.Bool("verbose", false, "")
	client, code, ok := c.connect(v, fs, args, takesDeployment)
	if !ok {
		return code
	}
	d, err := resolveDeployment(client, fs.Arg(0))
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(d)
	}
	c.outf("%s", formatDeployment(d, *verbose))
	return 0
}

// resolveDeployment finds the deployment whose ID starts with prefix.
func resolveDeployment(client *api.Client, prefix string) (*api.Deployment, error) {
	list, _, err := client.Deployments().PrefixList(sanitizeUUIDPrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("Error retrieving deployment: %s", err)
	}
	matches := withPrefix(list, prefix, func(d *api.Deployment) string { return d.ID })
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("No deployment(s) with prefix or id %q found", prefix)
	case 1:
		return matches[0], nil
	}
	return nil, fmt.Errorf("Prefix matched multiple deployments\n\n%s", formatDeploymentList(matches, false))
}
