package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// serverMembersVerb lists the servers known by gossip.
var serverMembersVerb = &verb{
	name:     "server members",
	synopsis: "Display a list of known servers and their status",
	help: `
Usage: roam server members [options]

  Display a list of the known servers and their status. Only Roam servers are
  able to service this command.

General Options:
` + generalOptionsHelp + `

Server Members Options:

  -verbose
    Show detailed information about each member. This dumps a raw set of tags
    which shows more information than the default output format.

  -json
    Output the server members in JSON format.
`,
	run: (*cli).serverMembers,
}

// serverMembers prints the table Nomad's `server members` prints.
func (c *cli) serverMembers(v *verb, args []string) int {
	fs := c.flagSet(v)
	verbose := fs.Bool("verbose", false, "")
	fs.BoolVar(verbose, "detailed", false, "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	members, err := client.Agent().Members()
	if err != nil {
		c.errorf("Error querying servers: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(members.Members)
	}
	leaders := regionLeaders(client, members.Members)
	c.outf("%s", formatServerMembers(members.Members, leaders, *verbose))
	return 0
}

// regionLeaders returns the RPC address of the leader of each region the
// members belong to; a region whose leader cannot be read is left out.
func regionLeaders(client *api.Client, members []*api.AgentMember) map[string]string {
	leaders := map[string]string{}
	for _, m := range members {
		region := m.Tags["region"]
		if _, done := leaders[region]; done {
			continue
		}
		leader, err := client.Status().RegionLeader(region)
		if err != nil {
			leader = ""
		}
		leaders[region] = leader
	}
	return leaders
}

// formatServerMembers renders members sorted by name. A member leads when its
// address and RPC port ("port" tag) match its region's leader.
func formatServerMembers(members []*api.AgentMember, leaders map[string]string, verbose bool) string {
	sorted := append([]*api.AgentMember(nil), members...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	header := "Name|Address|Port|Status|Leader|Raft Version|Build|Datacenter|Region"
	if verbose {
		header = "Name|Address|Port|Status|Leader|Protocol|Raft Version|Build|Datacenter|Region|Tags"
	}
	rows := []string{header}
	for _, m := range sorted {
		regionLeader := leaders[m.Tags["region"]]
		leader := regionLeader != "" && regionLeader == fmt.Sprintf("%s:%s", m.Addr, m.Tags["port"])
		cells := []string{m.Name, m.Addr, fmt.Sprint(m.Port), m.Status, fmt.Sprint(leader)}
		if verbose {
			cells = append(cells, fmt.Sprint(m.ProtocolCur))
		}
		cells = append(cells, m.Tags["raft_vsn"], m.Tags["build"], m.Tags["dc"], m.Tags["region"])
		if verbose {
			cells = append(cells, formatTags(m.Tags))
		}
		rows = append(rows, strings.Join(cells, "|"))
	}
	return formatList(rows)
}

// formatTags renders tags as sorted "k=v" pairs joined by commas.
func formatTags(tags map[string]string) string {
	pairs := make([]string, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		pairs = append(pairs, k+"="+tags[k])
	}
	return strings.Join(pairs, ",")
}
