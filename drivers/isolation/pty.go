package isolation

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/roam-project/roam/drivers"
	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal pair for an exec session with a tty.
type pty struct {
	master, tty *os.File
}

// openPty allocates a pseudo-terminal from the host's /dev/ptmx.
func openPty() (*pty, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("exec: open pty: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, fmt.Errorf("exec: unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("exec: name pty: %w", err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("exec: open pty: %w", err)
	}
	return &pty{master: master, tty: tty}, nil
}

// serve copies the session's streams through the terminal and applies
// resizes, until the terminal closes.
func (p *pty) serve(streams drivers.ExecStreams) {
	if streams.Stdin != nil {
		go io.Copy(p.master, streams.Stdin)
	}
	if streams.Resize != nil {
		go func() {
			for size := range streams.Resize {
				ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
				if err := unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
					return
				}
			}
		}()
	}
	if streams.Stdout != nil {
		io.Copy(streams.Stdout, p.master)
	}
}

// Close releases both ends of the terminal.
func (p *pty) Close() {
	p.master.Close()
	p.tty.Close()
}
