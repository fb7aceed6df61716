package rawexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/roam-project/roam/drivers"
)

// openPTY opens a pseudo-terminal pair.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return master, slave, nil
}

// runWithTTY runs c on a new terminal wired to streams, applying resizes.
func runWithTTY(ctx context.Context, c *exec.Cmd, streams drivers.ExecStreams) (int, error) {
	master, slave, err := openPTY()
	if err != nil {
		return -1, err
	}
	defer master.Close()
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = c.Start()
	slave.Close()
	if err != nil {
		return -1, fmt.Errorf("start command: %w", err)
	}
	go func() {
		for {
			select {
			case size, ok := <-streams.Resize:
				if !ok {
					return
				}
				_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ,
					&unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)})
			case <-ctx.Done():
				return
			}
		}
	}()
	if streams.Stdin != nil {
		go func() { _, _ = io.Copy(master, streams.Stdin) }()
	}
	output := make(chan struct{})
	go func() {
		defer close(output)
		_, _ = io.Copy(streams.Stdout, master) // ends with EIO once the terminal closes
	}()
	err = c.Wait()
	<-output
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
