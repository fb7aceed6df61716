// Command roam is Roam's single binary: the agent and the CLI.
package main

import (
	"os"

	"github.com/roam-project/roam/command"
	"github.com/roam-project/roam/internal/reexec"
)

func main() {
	if reexec.Init() {
		return
	}
	os.Exit(command.Run(os.Args[1:]))
}
