package isolation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// runInit is the "roam-isolate-init STATE_DIR" role: the task's first
// process. fd 3 releases it once it is in its cgroup; on fd 4 (closed on
// exec) it writes why it could not exec the task's command.
func runInit() {
	release := os.NewFile(3, "release")
	failure := os.NewFile(4, "failure")
	unix.CloseOnExec(3)
	unix.CloseOnExec(4)
	fail := func(err error) {
		fmt.Fprint(failure, err.Error())
		os.Exit(127)
	}
	if len(os.Args) != 2 {
		fail(errors.New("usage: roam-isolate-init STATE_DIR"))
	}
	if n, _ := io.ReadFull(release, make([]byte, 1)); n != 1 {
		os.Exit(1) // the supervisor gave up on us
	}
	release.Close()
	var spec Spec
	if err := readJSON(filepath.Join(os.Args[1], specFile), &spec); err != nil {
		fail(err)
	}
	fail(execTask(&spec))
}

// execTask enters the chroot, becomes the task's user and execs its
// command; it returns only on failure.
func execTask(spec *Spec) error {
	// The capability bounding set is per thread: keep to the one that execs.
	runtime.LockOSThread()
	cred, err := lookupUser(spec.User)
	if err != nil {
		return err
	}
	workDir := spec.WorkDir
	if spec.Chroot {
		if err := buildChroot(spec, cred); err != nil {
			return err
		}
		if err := enterRoot(spec.TaskDir, spec.NoPivotRoot); err != nil {
			return err
		}
		if workDir == "" {
			workDir = "/"
		}
		if err := limitCapabilities(spec.Capabilities); err != nil {
			return err
		}
	} else if workDir == "" {
		workDir = spec.TaskDir
	}
	if err := os.Chdir(workDir); err != nil {
		return fmt.Errorf("enter work dir: %w", err)
	}
	if err := cred.become(); err != nil {
		return err
	}
	path, err := lookPath(spec.Command, spec.Env)
	if err != nil {
		return err
	}
	argv := append([]string{spec.Command}, spec.Args...)
	if err := unix.Exec(path, argv, spec.Env); err != nil {
		return fmt.Errorf("exec %s: %w", spec.Command, err)
	}
	return nil
}

// credential is a user's IDs as looked up on the host.
type credential struct {
	name   string
	uid    int
	gid    int
	groups []int
}

// lookupUser resolves name ("" for root) in the host's user database.
func lookupUser(name string) (*credential, error) {
	if name == "" || name == "root" {
		return &credential{name: "root"}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	cred := &credential{name: name}
	if cred.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %q has uid %q: %w", name, u.Uid, err)
	}
	if cred.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("user %q has gid %q: %w", name, u.Gid, err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("look up groups of %q: %w", name, err)
	}
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			cred.groups = append(cred.groups, n)
		}
	}
	return cred, nil
}

// become switches every thread of the process to the credential.
func (c *credential) become() error {
	if c.uid == 0 {
		return nil
	}
	if err := syscall.Setgroups(c.groups); err != nil {
		return fmt.Errorf("set groups of %s: %w", c.name, err)
	}
	if err := syscall.Setgid(c.gid); err != nil {
		return fmt.Errorf("set gid of %s: %w", c.name, err)
	}
	if err := syscall.Setuid(c.uid); err != nil {
		return fmt.Errorf("set uid of %s: %w", c.name, err)
	}
	return nil
}

// defaultPath is searched when the task's environment sets no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds command as exec(3) would, in the PATH of env.
func lookPath(command string, env []string) (string, error) {
	if command == "" {
		return "", errors.New("no command given")
	}
	if strings.Contains(command, "/") {
		if err := isExecutable(command); err != nil {
			return "", fmt.Errorf("command %s: %w", command, err)
		}
		return command, nil
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		candidate := filepath.Join(dir, command)
		if isExecutable(candidate) == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH %s", command, path)
}

func isExecutable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return errors.New("is a directory")
	}
	return unix.Access(path, unix.X_OK)
}
