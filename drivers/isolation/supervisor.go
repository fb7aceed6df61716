package isolation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/roam-project/roam/drivers/logging"
	"github.com/roam-project/roam/internal/reexec"
)

// runSupervisor is the "roam-isolate STATE_DIR" role. Its fd 3 is the pipe
// on which it reports the task's start (startReport) to the driver.
func runSupervisor() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: roam-isolate STATE_DIR")
		os.Exit(2)
	}
	// The supervisor outlives the client's session and terminal. It catches
	// rather than ignores: ignored signals would stay ignored in the task.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGPIPE)
	report := os.NewFile(3, "report")
	if err := supervise(os.Args[1], report); err != nil {
		fmt.Fprintln(os.Stderr, "roam-isolate:", err)
		os.Exit(1)
	}
}

func supervise(stateDir string, report *os.File) error {
	var spec Spec
	if err := readJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		sendReport(report, startReport{Err: err.Error()})
		return err
	}
	cg, err := LoadCgroup(CgroupName(spec.TaskID))
	if err != nil {
		sendReport(report, startReport{Err: err.Error()})
		return err
	}
	run, err := startTask(stateDir, &spec, cg)
	if err != nil {
		sendReport(report, startReport{Err: err.Error()})
		return err
	}
	sendReport(report, startReport{PID: run.cmd.Process.Pid})
	return writeJSON(filepath.Join(stateDir, exitFile), run.wait(cg))
}

func sendReport(report *os.File, r startReport) {
	if err := json.NewEncoder(report).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "roam-isolate: report start:", err)
	}
	report.Close()
}

// taskRun is the task's first process and the copying of its output.
type taskRun struct {
	cmd    *exec.Cmd
	copies chan error
}

// startTask starts the init process, places it in the cgroup, lets it go
// on and waits until it has exec'ed the task's command (or failed to).
func startTask(stateDir string, spec *Spec, cg *Cgroup) (*taskRun, error) {
	stdout, err := logging.NewRotator(spec.StdoutPath, spec.LogMaxFiles, spec.LogMaxFileSizeMB)
	if err != nil {
		return nil, fmt.Errorf("open stdout log: %w", err)
	}
	stderr, err := logging.NewRotator(spec.StderrPath, spec.LogMaxFiles, spec.LogMaxFileSizeMB)
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("open stderr log: %w", err)
	}
	cmd, err := reexec.Command(initRole, stateDir)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneFlags(spec)}
	run := &taskRun{cmd: cmd, copies: make(chan error, 2)}
	outW, err := run.pipeTo(stdout)
	if err != nil {
		return nil, err
	}
	errW, err := run.pipeTo(stderr)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	return run, run.start(cg, outW, errW)
}

// cloneFlags are the namespaces the task gets.
func cloneFlags(spec *Spec) uintptr {
	if !spec.Chroot {
		return 0
	}
	flags := uintptr(syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS)
	if !spec.HostPID {
		flags |= syscall.CLONE_NEWPID
	}
	if !spec.HostIPC {
		flags |= syscall.CLONE_NEWIPC
	}
	return flags
}

// pipeTo returns the write end of a pipe whose output is copied into w.
func (r *taskRun) pipeTo(w io.WriteCloser) (*os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create output pipe: %w", err)
	}
	go func() {
		_, err := io.Copy(w, pr)
		pr.Close()
		w.Close()
		r.copies <- err
	}()
	return pw, nil
}

func (r *taskRun) start(cg *Cgroup, outputs ...*os.File) error {
	goR, goW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create sync pipe: %w", err)
	}
	failR, failW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create sync pipe: %w", err)
	}
	r.cmd.ExtraFiles = []*os.File{goR, failW}
	err = r.cmd.Start()
	for _, f := range append(outputs, goR, failW) {
		f.Close()
	}
	if err != nil {
		goW.Close()
		return fmt.Errorf("start task init: %w", err)
	}
	if err := cg.AddProc(r.cmd.Process.Pid); err != nil {
		goW.Close() // init exits when it reads EOF instead of the go byte
		r.cmd.Wait()
		return err
	}
	if _, err := goW.Write([]byte{1}); err != nil {
		return fmt.Errorf("release task init: %w", err)
	}
	goW.Close()
	// failR reads EOF once the task's command was exec'ed: init's end of
	// the pipe is close-on-exec. Before that, init writes why it failed.
	msg, _ := io.ReadAll(failR)
	failR.Close()
	if len(msg) > 0 {
		r.cmd.Wait()
		return errors.New(string(msg))
	}
	return nil
}

// wait waits for the task, kills what it left in its cgroup and says how
// it ended.
func (r *taskRun) wait(cg *Cgroup) exitRecord {
	waitErr := r.cmd.Wait()
	var rec exitRecord
	if err := cg.KillAll(); err != nil {
		rec.Err = err.Error()
	}
	for range 2 {
		if err := <-r.copies; err != nil && rec.Err == "" {
			rec.Err = fmt.Sprintf("copy task output: %v", err)
		}
	}
	ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		rec.Err = fmt.Sprintf("wait for task: %v", waitErr)
	case ws.Signaled():
		rec.Signal = int(ws.Signal())
		rec.ExitCode = 128 + rec.Signal
	default:
		rec.ExitCode = ws.ExitStatus()
	}
	if kills, err := cg.OOMKills(); err == nil && kills > 0 {
		rec.OOMKilled = true
	}
	return rec
}
