package command

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"
)

// varLockVerb runs a command while holding a variable's lock.
var varLockVerb = &verb{
	name:     "var lock",
	synopsis: "Run a command while holding a lock over a variable",
	help: `
Usage: roam var lock [options] <path> <child command> [<args>]...

  Acquire the lock over the variable at path (creating the variable when it
  does not exist), run the child command while renewing the lock, and
  release it when the child exits. When the lock is held by another, wait
  for it. The exit code is the child's.

General Options:
` + generalOptionsHelp + `

Var lock Options:

  -ttl=<duration>
    The lock's time to live: it is lost unless renewed within it. Default: 15s.

  -delay=<duration>
    After a lost lock, how long nobody may take it again. Default: 15s.

  -max-retry=<n>
    How many times to retry a failing lock call. Default: 5.

  -shell
    Run the child command through /bin/sh -c.
`,
	run: (*cli).varLock,
}

// varLock holds a variable's lock while a child command runs.
func (c *cli) varLock(v *verb, args []string) int {
	fs := c.flagSet(v)
	ttl := fs.Duration("ttl", 15*time.Second, "")
	delay := fs.Duration("delay", 15*time.Second, "")
	retries := fs.Int64("max-retry", 5, "")
	shell := fs.Bool("shell", false, "")
	client, code, ok := c.connect(v, fs, args, argCount{2, -1, "This command requires a path and a child command"})
	if !ok {
		return code
	}
	child := fs.Args()[1:]
	if *shell {
		child = []string{"/bin/sh", "-c", strings.Join(child, " ")}
	}
	sv := api.Variable{Path: fs.Arg(0), Namespace: c.namespace(),
		Lock: &api.VariableLock{TTL: ttl.String(), LockDelay: delay.String()}}
	locks, err := client.Locks(api.WriteOptions{Namespace: c.namespace()}, sv, api.LocksOptionWithMaxRetries(*retries))
	if err != nil {
		c.errorf("Error preparing the lock: %s", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exitCode := 0
	run := func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, child[0], child[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = c.in, c.out, c.errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			exitCode = exit.ExitCode()
			return nil
		}
		return err
	}
	if err := client.NewLockLeaser(locks).Start(ctx, run); err != nil && !errors.Is(err, context.Canceled) {
		c.errorf("Error holding the lock over %q: %s", sv.Path, err)
		return 1
	}
	return exitCode
}
