// Command sleeper is the task of the partition tests' jobs: a static
// program that blocks until it is signalled, so that it runs in a scratch
// container image that has no shell and no sleep binary.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
