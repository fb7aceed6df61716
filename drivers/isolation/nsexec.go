package isolation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/internal/reexec"
	"golang.org/x/sys/unix"
)

// execIODelay is how long an exec'ed command's output may still be copied
// after it exits (a background child may hold its pipes open).
const execIODelay = 2 * time.Second

// execRequest tells the "roam-isolate-exec" role what to run where.
type execRequest struct {
	PID     int      `json:"pid"`
	Cgroup  string   `json:"cgroup"`
	Chroot  bool     `json:"chroot"`
	TaskDir string   `json:"task_dir"`
	User    string   `json:"user"`
	Env     []string `json:"env"`
	Argv    []string `json:"argv"`
	TTY     bool     `json:"tty"`
	Caps    []string `json:"capabilities"`
}

// Exec runs argv inside the task: in its namespaces and chroot (for a
// chrooted task), in its cgroup, as its user, with its environment; it
// returns the command's exit code (128+N when killed by signal N). The
// command runs under a helper process (role "roam-isolate-exec") that
// joins the task's namespaces; a failure of the helper itself is exit code
// 126 with its reason on stderr.
func (t *Task) Exec(ctx context.Context, argv []string, tty bool, streams drivers.ExecStreams) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("exec: no command given")
	}
	if !t.Running() {
		return 0, errors.New("exec: task has exited")
	}
	req, err := json.Marshal(execRequest{
		PID: t.state.PID, Cgroup: t.state.Cgroup, Chroot: t.state.Chroot, TaskDir: t.state.TaskDir,
		User: t.state.User, Env: t.state.Env, Argv: argv, TTY: tty, Caps: t.state.Capabilities,
	})
	if err != nil {
		return 0, fmt.Errorf("exec: encode request: %w", err)
	}
	cmd, err := reexec.Command(execRole, string(req))
	if err != nil {
		return 0, err
	}
	cmd.WaitDelay = execIODelay
	var term *pty
	if tty {
		if term, err = openPty(); err != nil {
			return 0, err
		}
		defer term.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = term.tty, term.tty, term.tty
	} else {
		if streams.Stdin != nil {
			cmd.Stdin = streams.Stdin
		}
		cmd.Stdout, cmd.Stderr = streams.Stdout, streams.Stderr
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("exec: start helper: %w", err)
	}
	return waitExec(ctx, cmd, term, streams)
}

// waitExec copies a tty's I/O if there is one, and waits for the command;
// cancelling ctx kills it.
func waitExec(ctx context.Context, cmd *exec.Cmd, term *pty, streams drivers.ExecStreams) (int, error) {
	copied := make(chan struct{})
	if term != nil {
		term.tty.Close()
		go func() {
			term.serve(streams)
			close(copied)
		}()
	} else {
		close(copied)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM) // the helper kills the command
		<-waited
		return 0, ctx.Err()
	}
	select { // the terminal's output drains once its last user is gone
	case <-copied:
	case <-time.After(execIODelay):
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return 0, fmt.Errorf("exec: wait: %w", err)
	}
	return 0, nil
}

// runExecHelper is the "roam-isolate-exec REQUEST" role.
func runExecHelper() {
	var req execRequest
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: roam-isolate-exec REQUEST")
		os.Exit(126)
	}
	if err := json.Unmarshal([]byte(os.Args[1]), &req); err != nil {
		fmt.Fprintln(os.Stderr, "exec: decode request:", err)
		os.Exit(126)
	}
	code, err := execInTask(&req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(126)
	}
	os.Exit(code)
}

// execInTask joins the task's cgroup, namespaces and root, runs the
// command with this process's stdio and returns its exit code. This
// process is disposable, so its threads may change namespaces freely.
func execInTask(req *execRequest) (int, error) {
	if len(req.Argv) == 0 {
		return 0, errors.New("exec: no command given")
	}
	cg, err := LoadCgroup(req.Cgroup)
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	if err := cg.AddProc(os.Getpid()); err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	cred, err := lookupUser(req.User)
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	// The command is forked from this thread, with its namespaces and root.
	runtime.LockOSThread()
	dir := req.TaskDir
	if req.Chroot {
		if err := enterNamespaces(req.PID); err != nil {
			return 0, err
		}
		if err := limitCapabilities(req.Caps); err != nil {
			return 0, fmt.Errorf("exec: %w", err)
		}
		dir = "/"
	}
	return runCommand(req, cred, dir)
}

// runCommand runs the request's command from the calling thread, as cred
// in dir, and returns its exit code.
func runCommand(req *execRequest, cred *credential, dir string) (int, error) {
	path, err := lookPath(req.Argv[0], req.Env)
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	cmd := &exec.Cmd{Path: path, Args: req.Argv, Env: req.Env, Dir: dir,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	// No Pdeathsig: in the task's PID namespace the child sees no parent
	// and Go would take that for its parent's death.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred.sysCredential()}
	if req.TTY {
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty = true, true
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("exec %s in task: %w", req.Argv[0], err)
	}
	// The driver ends a cancelled session by signalling this helper.
	cancel := make(chan os.Signal, 1)
	signal.Notify(cancel, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		<-cancel
		cmd.Process.Kill()
	}()
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return 0, fmt.Errorf("exec: wait: %w", err)
	}
	return cmd.ProcessState.ExitCode(), nil
}

// sysCredential is the credential for SysProcAttr; nil keeps root.
func (c *credential) sysCredential() *syscall.Credential {
	if c.uid == 0 {
		return nil
	}
	groups := make([]uint32, len(c.groups))
	for i, g := range c.groups {
		groups[i] = uint32(g)
	}
	return &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid), Groups: groups}
}

// namespaces a command run by Exec joins, in order; the mount namespace
// comes last, as joining it changes what paths resolve to.
var namespaces = []struct {
	name string
	flag int
}{
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
	{"pid", unix.CLONE_NEWPID},
	{"net", unix.CLONE_NEWNET},
	{"mnt", unix.CLONE_NEWNS},
}

// enterNamespaces moves the calling (locked) thread into the namespaces
// and root directory of process pid.
func enterNamespaces(pid int) error {
	proc := "/proc/" + strconv.Itoa(pid)
	root, err := os.Open(proc + "/root")
	if err != nil {
		return fmt.Errorf("exec: open task root: %w", err)
	}
	defer root.Close()
	fds := make([]*os.File, len(namespaces))
	for i, ns := range namespaces {
		if fds[i], err = os.Open(proc + "/ns/" + ns.name); err != nil {
			return fmt.Errorf("exec: open task %s namespace: %w", ns.name, err)
		}
		defer fds[i].Close()
	}
	// A thread sharing its filesystem context cannot join a mount namespace.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("exec: unshare fs: %w", err)
	}
	for i, ns := range namespaces {
		if err := unix.Setns(int(fds[i].Fd()), ns.flag); err != nil {
			return fmt.Errorf("exec: join task %s namespace: %w", ns.name, err)
		}
	}
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return fmt.Errorf("exec: enter task root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("exec: chroot into task: %w", err)
	}
	return unix.Chdir("/")
}
