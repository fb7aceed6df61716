// Package reexec lets the roam binary start copies of itself in a helper
// role (a task executor, a container init) by naming the role in argv[0].
package reexec

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
)

var (
	mu    sync.Mutex
	roles = map[string]func(){}
)

// Register names a role; Init runs it when the process was started as it.
// Registering one name twice panics: it is a programming error.
func Register(name string, run func()) {
	mu.Lock()
	defer mu.Unlock()
	if _, ok := roles[name]; ok {
		panic(fmt.Sprintf("reexec: role %q registered twice", name))
	}
	roles[name] = run
}

// Init runs the role named by os.Args[0], if any, and reports whether it did.
// main (and TestMain of packages that re-execute themselves) calls it first.
func Init() bool {
	mu.Lock()
	run, ok := roles[os.Args[0]]
	mu.Unlock()
	if ok {
		run()
	}
	return ok
}

// Command returns a command that runs this binary in the named role, with
// args after it.
func Command(role string, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.Command(self, args...)
	cmd.Args[0] = role
	return cmd, nil
}
