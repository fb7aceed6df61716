// Package command is Roam's CLI: one file per verb group, output modelled on
// Nomad's.
package command

import "github.com/roam-project/roam/agent"

// Run runs the CLI with args (without the program name) and returns the exit
// code.
func Run(args []string) int {
	if len(args) > 0 && args[0] == "agent" {
		return agent.Run(args[1:])
	}
	return 1
}
