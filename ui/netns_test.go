//go:build browser && linux

package ui_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// netnsEnv marks the test process that runs inside its own network namespace.
const netnsEnv = "ROAM_UI_TEST_NETNS"

// TestMain builds the roam binary once (unless ROAM_BINARY names one), then
// runs the browser tests in a private network namespace when it can (as
// root). Chromium aborts page loads with ERR_NETWORK_CHANGED whenever the
// host's interfaces change, which happens all the time on a machine where
// containers come and go; a namespace holding only loopback never changes.
// The agent and Chromium both run inside it.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv(netnsEnv) == "1" {
		if err := loopbackUp(); err != nil {
			fmt.Fprintf(os.Stderr, "browser tests: bring loopback up: %v\n", err)
			return 2
		}
		return m.Run()
	}
	if os.Getenv(binaryEnv) == "" {
		dir, err := os.MkdirTemp("", "roam-ui-test-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "browser tests: %v\n", err)
			return 2
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "roam")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/roam-project/roam/cmd/roam").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "browser tests: build roam: %v\n%s", err, out)
			return 2
		}
		os.Setenv(binaryEnv, bin)
	}
	if os.Geteuid() == 0 {
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), netnsEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err == nil {
			return 0
		}
		fmt.Fprintf(os.Stderr, "browser tests: no private network namespace (%v); running in the host's\n", err)
	}
	return m.Run()
}

// loopbackUp sets the lo interface of the current network namespace up.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("read lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
