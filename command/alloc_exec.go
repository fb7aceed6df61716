package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/nomad/api"
	"github.com/moby/term"
)

// allocExecVerb runs a command inside a running task.
var allocExecVerb = &verb{
	name:     "alloc exec",
	synopsis: "Execute commands in task",
	help: `
Usage: roam alloc exec [options] <allocation> <command>

  Run command inside the environment of the given allocation and task.

General Options:
` + generalOptionsHelp + `

Exec Specific Options:

  -task <task-name>
    Sets the task to exec command in.

  -job
    Use a random allocation from the specified job ID or prefix.

  -i
    Pass stdin to the container, defaults to true. Pass -i=false to disable
    explicitly.

  -t
    Allocate a pseudo-tty, defaults to true if stdin is detected to be a tty
    session. Pass -t=false to disable explicitly.

  -e <escape_char>
    Sets the escape character for sessions with a pty (default: '~'). The
    escape character is only recognized at the beginning of a line. The
    escape character followed by a dot ('.') closes the connection. Setting
    the character to 'none' disables any escapes and makes the session fully
    transparent.
`,
	run: (*cli).allocExec,
}

// execOptions are `alloc exec`'s own flags.
type execOptions struct {
	task          string
	job, stdin    bool
	tty           bool
	escape        string
	stdinTerminal bool
	inFd          uintptr
}

// allocExec implements `alloc exec`.
func (c *cli) allocExec(v *verb, args []string) int {
	fs := c.flagSet(v)
	var o execOptions
	o.inFd, o.stdinTerminal = c.terminalIn()
	fs.StringVar(&o.task, "task", "", "")
	fs.BoolVar(&o.job, "job", false, "")
	fs.BoolVar(&o.stdin, "i", true, "")
	fs.BoolVar(&o.tty, "t", o.stdinTerminal, "")
	fs.StringVar(&o.escape, "e", "~", "")
	want := argCount{2, -1, "This command takes at least two arguments: <allocation> <command>"}
	if code, ok := c.parseArgs(v, fs, args, want); !ok {
		return code
	}
	if o.escape != "none" && len(o.escape) != 1 {
		c.errorf("-e requires 'none' or a single character")
		return 1
	}
	client, alloc, ok := c.execTarget(fs.Arg(0), o.job)
	if !ok {
		return 1
	}
	task, err := pickTask(alloc, o.task)
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if alloc.ClientStatus != api.AllocClientStatusRunning && alloc.ClientStatus != api.AllocClientStatusPending {
		c.errorf("Allocation %q is not running (client status %q)", shortID(alloc.ID, false), alloc.ClientStatus)
		return 1
	}
	code, err := c.runExec(client, alloc, task, fs.Args()[1:], o)
	if err != nil {
		c.errorf("failed to exec into task: %v", err)
		return 1
	}
	return code
}

// terminalIn reports standard input's descriptor and whether it is a tty.
func (c *cli) terminalIn() (uintptr, bool) {
	f, ok := c.in.(*os.File)
	if !ok {
		return 0, false
	}
	return f.Fd(), term.IsTerminal(f.Fd())
}

// execTarget resolves the allocation argument, or with -job a running
// allocation of the job.
func (c *cli) execTarget(arg string, byJob bool) (*api.Client, *api.Allocation, bool) {
	if !byJob {
		return c.allocArg(arg)
	}
	job, ok := c.jobArg(arg)
	if !ok {
		return nil, nil, false
	}
	stubs, _, err := job.client.Jobs().Allocations(job.id, false, job.query())
	if err != nil {
		c.errorf("Error querying job allocations: %s", err)
		return nil, nil, false
	}
	for _, s := range stubs {
		if s.ClientStatus == api.AllocClientStatusRunning && s.DesiredStatus == api.AllocDesiredStatusRun {
			return c.allocArg(s.ID)
		}
	}
	c.errorf("No running allocations found for job %q", job.id)
	return nil, nil, false
}

// runExec streams the session and returns the remote command's exit code.
func (c *cli) runExec(client *api.Client, alloc *api.Allocation, task string, cmd []string, o execOptions) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdin io.Reader = eofReader{}
	if o.stdin {
		stdin = c.in
	}
	var sizeCh chan api.TerminalSize
	if o.tty {
		if o.stdinTerminal {
			restore, err := rawTerminal(o.inFd)
			if err != nil {
				return 1, err
			}
			defer restore()
			sizeCh = watchTerminalSize(ctx, o.inFd)
		}
		if o.escape != "none" {
			stdin = newEscapeReader(stdin, o.escape[0], cancel)
		}
	}
	code, err := client.Allocations().Exec(ctx, alloc, task, o.tty, cmd, stdin, c.out, c.errOut, sizeCh, nil)
	if err != nil && ctx.Err() != nil {
		c.errorf("\nConnection closed")
		return 0, nil
	}
	return code, err
}

// rawTerminal puts the terminal on standard input in raw mode.
func rawTerminal(fd uintptr) (func(), error) {
	state, err := term.SetRawTerminal(fd)
	if err != nil {
		return nil, fmt.Errorf("set terminal raw: %w", err)
	}
	return func() { _ = term.RestoreTerminal(fd, state) }, nil
}

// watchTerminalSize sends the terminal's size now and after each SIGWINCH.
func watchTerminalSize(ctx context.Context, fd uintptr) chan api.TerminalSize {
	ch := make(chan api.TerminalSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	send := func() {
		if ws, err := term.GetWinsize(fd); err == nil {
			select {
			case ch <- api.TerminalSize{Height: int(ws.Height), Width: int(ws.Width)}:
			default:
			}
		}
	}
	send()
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-winch:
				send()
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// eofReader is an empty standard input (-i=false).
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// escapeReader passes standard input through, except that the escape
// character at the start of a line followed by '.' closes the session; the
// escape character typed twice sends it once.
type escapeReader struct {
	in        io.Reader
	escape    byte
	close     func()
	lineStart bool
	pending   bool // an escape character was seen at a line start
	closed    bool
	buf       []byte
	out       []byte
}

func newEscapeReader(in io.Reader, escape byte, close func()) *escapeReader {
	return &escapeReader{in: in, escape: escape, close: close, lineStart: true, buf: make([]byte, 1024)}
}

func (r *escapeReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 && !r.closed {
		n, err := r.in.Read(r.buf)
		for _, b := range r.buf[:n] {
			if r.filter(b) {
				r.closed = true
				r.close()
				break
			}
		}
		if err != nil && len(r.out) == 0 {
			return 0, err
		}
	}
	if len(r.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// filter handles one input byte; it reports whether the session must close.
func (r *escapeReader) filter(b byte) bool {
	switch {
	case r.pending:
		r.pending = false
		if b == '.' {
			return true
		}
		if b != r.escape {
			r.out = append(r.out, r.escape)
		}
	case r.lineStart && b == r.escape:
		r.pending = true
		return false
	}
	r.out = append(r.out, b)
	r.lineStart = b == '\r' || b == '\n'
	return false
}
