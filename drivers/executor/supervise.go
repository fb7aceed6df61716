package executor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/roam-project/roam/drivers/logging"
	"github.com/roam-project/roam/internal/reexec"
)

// reportFD is the descriptor on which the executor tells its launcher
// whether the task started: "ok <pid>\n" or "error <message>\n".
const reportFD = 3

// drainGrace bounds how long output is still copied after the task exits,
// in case its children keep the pipes open.
const drainGrace = 2 * time.Second

func init() {
	reexec.Register(Role, func() {
		if len(os.Args) != 2 {
			fmt.Fprintln(os.Stderr, "usage: roam-executor STATE_DIR")
			os.Exit(2)
		}
		os.Exit(supervise(os.Args[1]))
	})
}

// supervise is the executor process's body.
func supervise(stateDir string) int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	report := os.NewFile(reportFD, "report")
	var spec Spec
	if err := readJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		fmt.Fprintf(report, "error %v\n", err)
		return 1
	}
	task, outputs, err := startTask(&spec)
	if err != nil {
		fmt.Fprintf(report, "error %v\n", err)
		return 1
	}
	fmt.Fprintf(report, "ok %d\n", task.Process.Pid)
	report.Close()

	rec := exitRecord{}
	if err := task.Wait(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			rec.Err = err.Error()
		}
	}
	rec.ExitCode, rec.Signal = exitStatus(task.ProcessState)
	outputs.drain()
	if err := writeJSON(filepath.Join(stateDir, exitFile), rec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// exitStatus reports the exit code and signal; a signalled task reports
// 128+signal as its exit code, as shells and Nomad do.
func exitStatus(ps *os.ProcessState) (code, sig int) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode(), 0
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), int(ws.Signal())
	}
	return ws.ExitStatus(), 0
}

// startTask starts the task with its output piped into rotated files.
func startTask(spec *Spec) (*exec.Cmd, *outputCopier, error) {
	cmd := exec.Command(spec.Command, spec.Args...)
	cmd.Env, cmd.Dir = spec.Env, spec.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if spec.User != "" && os.Geteuid() == 0 {
		cred, err := credential(spec.User)
		if err != nil {
			return nil, nil, err
		}
		cmd.SysProcAttr.Credential = cred
	}
	outputs, err := newOutputCopier(spec)
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = outputs.stdoutW, outputs.stderrW
	if err := cmd.Start(); err != nil {
		outputs.closeAll()
		return nil, nil, fmt.Errorf("start command %q: %w", spec.Command, err)
	}
	outputs.afterStart()
	return cmd, outputs, nil
}

func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	return cred, nil
}

// outputCopier copies the task's stdout and stderr pipes into rotators.
type outputCopier struct {
	stdoutR, stderrR *os.File
	stdoutW, stderrW *os.File
	stdout, stderr   *logging.Rotator
	wg               sync.WaitGroup
}

func newOutputCopier(spec *Spec) (*outputCopier, error) {
	o := &outputCopier{}
	var err error
	if o.stdout, err = logging.NewRotator(spec.StdoutPath, spec.LogMaxFiles, spec.LogMaxFileSizeMB); err != nil {
		return nil, err
	}
	if o.stderr, err = logging.NewRotator(spec.StderrPath, spec.LogMaxFiles, spec.LogMaxFileSizeMB); err != nil {
		o.stdout.Close()
		return nil, err
	}
	if o.stdoutR, o.stdoutW, err = os.Pipe(); err != nil {
		o.closeAll()
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	if o.stderrR, o.stderrW, err = os.Pipe(); err != nil {
		o.closeAll()
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}
	return o, nil
}

// afterStart closes the write ends the task now holds and starts copying.
func (o *outputCopier) afterStart() {
	o.stdoutW.Close()
	o.stderrW.Close()
	o.wg.Add(2)
	go o.copy(o.stdout, o.stdoutR)
	go o.copy(o.stderr, o.stderrR)
}

func (o *outputCopier) copy(dst io.Writer, src *os.File) {
	defer o.wg.Done()
	_, _ = io.Copy(dst, src)
}

// drain waits for the remaining output, at most drainGrace, then closes.
func (o *outputCopier) drain() {
	deadline := time.Now().Add(drainGrace)
	_ = o.stdoutR.SetReadDeadline(deadline)
	_ = o.stderrR.SetReadDeadline(deadline)
	o.wg.Wait()
	o.closeAll()
}

func (o *outputCopier) closeAll() {
	for _, f := range []*os.File{o.stdoutR, o.stderrR, o.stdoutW, o.stderrW} {
		if f != nil {
			_ = f.Close()
		}
	}
	for _, r := range []*logging.Rotator{o.stdout, o.stderr} {
		if r != nil {
			_ = r.Close()
		}
	}
}
