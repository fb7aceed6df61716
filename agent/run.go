// Package agent runs a Roam agent: it reads Nomad-format agent configuration,
// wires a server and a client together, and serves the HTTP API and UI.
package agent

import (
	"fmt"
	"os"
)

// Run is the `roam agent` command: it parses args and runs until signalled,
// returning the process exit code.
func Run(args []string) int {
	fmt.Fprintln(os.Stderr, "roam agent: not built yet")
	return 1
}
