package command

import "strings"

// agentInfoVerb prints the local agent's statistics.
var agentInfoVerb = &verb{
	name:     "agent-info",
	synopsis: "Display status information about the local agent",
	help: `
Usage: roam agent-info [options]

  Display status information about the local agent.

General Options:
` + generalOptionsHelp + `
Agent Info Options:

  -json
    Output the agent info in its JSON format.
`,
	run: (*cli).agentInfo,
}

// agentInfo prints each section of the agent's stats with its keys sorted,
// as Nomad does.
func (c *cli) agentInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	self, err := client.Agent().Self()
	if err != nil {
		c.errorf("Error querying agent info: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(self)
	}
	c.outf("%s", formatAgentStats(self.Stats))
	return 0
}

// formatAgentStats renders the agent's stats sections.
func formatAgentStats(stats map[string]map[string]string) string {
	var lines []string
	for _, section := range sortedKeys(stats) {
		lines = append(lines, section)
		for _, k := range sortedKeys(stats[section]) {
			lines = append(lines, "  "+k+" = "+stats[section][k])
		}
	}
	return strings.Join(lines, "\n")
}
