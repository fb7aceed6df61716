package command

import (
	"os"
	"os/signal"
	"strconv"

	"github.com/hashicorp/nomad/api"
)

// agentMonitorVerb streams an agent's log.
var agentMonitorVerb = &verb{
	name:     "monitor",
	synopsis: "Stream logs from a Roam agent",
	help: `
Usage: roam monitor [options]

  Streams the log of the agent the CLI talks to, at a log level, until
  interrupted.

General Options:
` + generalOptionsHelp + `

Monitor Options:

  -log-level <level>
    The level of the lines streamed: debug, info, warn or error. Defaults
    to info.

  -node-id <node-id>
    Stream from the client agent with this node ID.

  -server-id <server-id>
    Stream from the server with this name ("leader" for the leader).

  -json
    Stream the lines as JSON objects.
`,
	run: (*cli).agentMonitor,
}

// agentMonitor implements `monitor`.
func (c *cli) agentMonitor(v *verb, args []string) int {
	fs := c.flagSet(v)
	level := fs.String("log-level", "", "")
	nodeID := fs.String("node-id", "", "")
	serverID := fs.String("server-id", "", "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	params := map[string]string{"log_level": *level, "log_json": strconv.FormatBool(*asJSON)}
	if *nodeID != "" {
		params["node_id"] = *nodeID
	}
	if *serverID != "" {
		params["server_id"] = *serverID
	}
	stop := make(chan struct{})
	frames, errCh := client.Agent().Monitor(stop, &api.QueryOptions{Params: params})
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	defer signal.Stop(interrupt)
	for {
		select {
		case <-interrupt:
			close(stop)
			return 0
		case err := <-errCh:
			c.errorf("Error starting monitor: %s", err)
			return 1
		case f, ok := <-frames:
			if !ok {
				return 0
			}
			if _, err := c.out.Write(f.Data); err != nil {
				return 1
			}
		}
	}
}
