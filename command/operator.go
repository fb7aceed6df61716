package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// operatorRaftListPeersVerb shows the Raft configuration.
var operatorRaftListPeersVerb = &verb{
	name:     "operator raft list-peers",
	synopsis: "Display the current Raft peer configuration",
	help: `
Usage: roam operator raft list-peers [options]

  Displays the current Raft peer configuration.

General Options:
` + generalOptionsHelp + `

List Peers Options:

  -stale
    The -stale argument defaults to "false" which means the leader provides
    the result. If the cluster is in an outage state without a leader, you
    may need to set -stale to "true" to get the configuration from a
    non-leader server.
`,
	run: (*cli).operatorRaftListPeers,
}

// operatorRaftListPeers implements `operator raft list-peers`.
func (c *cli) operatorRaftListPeers(v *verb, args []string) int {
	fs := c.flagSet(v)
	stale := fs.Bool("stale", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	cfg, err := client.Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: *stale})
	if err != nil {
		c.errorf("Failed to retrieve raft configuration: %v", err)
		return 1
	}
	c.outf("%s", formatRaftPeers(cfg.Servers))
	return 0
}

// formatRaftPeers renders Nomad's Raft peer table.
func formatRaftPeers(servers []*api.RaftServer) string {
	rows := []string{"Node|ID|Address|State|Voter|RaftProtocol"}
	for _, s := range servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		rows = append(rows, strings.Join([]string{s.Node, s.ID, s.Address, state,
			fmt.Sprint(s.Voter), s.RaftProtocol}, "|"))
	}
	return formatList(rows)
}

// serverJoinVerb joins the agent to other servers.
var serverJoinVerb = &verb{
	name:     "server join",
	synopsis: "Join server nodes together",
	help: `
Usage: roam server join [options] <addr> [<addr>...]

  Joins the local server to one or more Roam servers. Joining is only
  required for server nodes, and only needs to succeed against one or more
  of the provided addresses. Once joined, the gossip layer will handle
  discovery of the other server nodes in the cluster.

General Options:
` + generalOptionsHelp + `
`,
	run: (*cli).serverJoin,
}

// serverJoin implements `server join`.
func (c *cli) serverJoin(v *verb, args []string) int {
	fs := c.flagSet(v)
	want := argCount{1, -1, "One or more node addresses must be given as arguments"}
	client, code, ok := c.connect(v, fs, args, want)
	if !ok {
		return code
	}
	n, err := client.Agent().Join(fs.Args()...)
	if err != nil {
		c.errorf("Error joining: %s", err)
		return 1
	}
	c.outf("Joined %d servers successfully", n)
	return 0
}

// serverForceLeaveVerb removes a failed server from gossip.
var serverForceLeaveVerb = &verb{
	name:     "server force-leave",
	synopsis: "Force a server into the 'left' state",
	help: `
Usage: roam server force-leave [options] <node>

  Forces an server to enter the "left" state. This can be used to eject
  nodes which have failed and will not rejoin the cluster. Note that if the
  member is actually still alive, it will eventually rejoin the cluster
  again.

General Options:
` + generalOptionsHelp + `

Server Force-Leave Options:

  -prune
    Removes failed or left server from the Serf member list immediately.
`,
	run: (*cli).serverForceLeave,
}

// serverForceLeave implements `server force-leave`.
func (c *cli) serverForceLeave(v *verb, args []string) int {
	fs := c.flagSet(v)
	prune := fs.Bool("prune", false, "")
	want := argCount{1, 1, "This command takes one argument: <node>"}
	client, code, ok := c.connect(v, fs, args, want)
	if !ok {
		return code
	}
	if err := client.Agent().ForceLeaveWithOptions(fs.Arg(0), api.ForceLeaveOpts{Prune: *prune}); err != nil {
		c.errorf("Error force-leaving server %s: %s", fs.Arg(0), err)
		return 1
	}
	return 0
}
