package exec

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/isolation"
	"github.com/roam-project/roam/drivers/isolation/isolationtest"
	"github.com/roam-project/roam/internal/reexec"
)

// starterRole is a client that starts a task, prints its handle and exits.
const starterRole = "roam-exec-test-starter"

func TestMain(m *testing.M) {
	reexec.Register(starterRole, runStarter)
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func TestExecIsolation(t *testing.T) {
	isolationtest.RequireRoot(t)
	secret := hostSecret(t)
	cases := []struct {
		name       string
		command    string
		args       []string
		wantExit   int
		wantStdout string
		wantStderr string
		resources  func(*drivers.Resources)
		user       string
		extra      map[string]any
		plugin     map[string]any
		chrootEnv  map[string]string
		task       func(t *testing.T, cfg *drivers.TaskConfig)
	}{
		{name: "host file outside the chroot is hidden", command: "/bin/cat", args: []string{secret},
			wantExit: 1, wantStderr: "No such file or directory"},
		{name: "host file is hidden with chroot instead of pivot_root", command: "/bin/cat", args: []string{secret},
			plugin: map[string]any{"no_pivot_root": true}, wantExit: 1, wantStderr: "No such file or directory"},
		{name: "client chroot_env replaces the default", command: "/bin/ls", args: []string{"/etc", "/srv"},
			chrootEnv: map[string]string{"/usr": "/usr", "/bin": "/bin", "/lib": "/lib", "/lib64": "/lib64",
				"/etc/passwd": "/etc/passwd", secret: "/srv/name"},
			wantStdout: "/etc:\npasswd\n\n/srv:\nname\n"},
		{name: "task is PID 1 of its namespace", command: "/bin/sh", args: []string{"-c", "echo $$"},
			wantStdout: "1\n"},
		{name: "task runs as nobody", command: "id", args: []string{"-un"}, wantStdout: "nobody\n"},
		{name: "task sees its directories", command: "/bin/sh",
			args:       []string{"-c", "ls -d /alloc /local /secrets /tmp && touch /local/x /tmp/y"},
			wantStdout: "/alloc\n/local\n/secrets\n/tmp\n"},
		{name: "task sees few processes", command: "/bin/sh", args: []string{"-c", "ls /proc | grep -c '^[0-9]'"},
			wantStdout: "3\n"}, // sh, ls and grep
		{name: "chroot_env is read-only even for root", command: "/bin/touch", args: []string{"/usr/roam-test"},
			user: "root", wantExit: 1, wantStderr: "Read-only file system"},
		{name: "root task holds the default capabilities", command: "/bin/grep", args: []string{"-E", "Cap(Bnd|Eff)", "/proc/self/status"},
			user: "root", wantStdout: "CapEff:\t00000000a80405fb\nCapBnd:\t00000000a80405fb\n"},
		{name: "cap_drop all then cap_add", command: "/bin/grep", args: []string{"-E", "Cap(Bnd|Eff)", "/proc/self/status"},
			user: "root", extra: map[string]any{"cap_drop": []string{"all"}, "cap_add": []string{"CAP_CHOWN"}},
			wantStdout: "CapEff:\t0000000000000001\nCapBnd:\t0000000000000001\n"},
		{name: "task dir variables name chroot paths", command: "/bin/sh",
			args: []string{"-c", "echo $NOMAD_TASK_DIR $NOMAD_ALLOC_DIR $NOMAD_SECRETS_DIR"}, wantStdout: "/local /alloc /secrets\n"},
		{name: "alloc dir is the shared one", command: "/bin/ls", args: []string{"/alloc"}, wantStdout: "logs\n"},
		{name: "reserved cores pin the task", command: "/bin/grep", args: []string{"Cpus_allowed_list", "/proc/self/status"},
			wantStdout: "Cpus_allowed_list:\t1\n", resources: func(r *drivers.Resources) { r.ReservedCores = []uint16{1} }},
		{name: "host volume is bound read-write", command: "/bin/sh", args: []string{"-c", "echo kept > /data/f && cat /data/f"},
			wantStdout: "kept\n", task: withVolume(false)},
		{name: "read-only host volume", command: "/bin/touch", args: []string{"/data/f"}, user: "root",
			wantExit: 1, wantStderr: "Read-only file system", task: withVolume(true)},
		{name: "device node given to the task", command: "/bin/sh", args: []string{"-c", "head -c 3 /dev/roam-test0 | wc -c"},
			wantStdout: "3\n", task: withDevice},
		// A tun node (10:200) opens for root without a device filter (a
		// read then fails with EBADFD); the task's device filter refuses
		// the open.
		{name: "devices made with mknod are denied", command: "/bin/sh", user: "root",
			args:     []string{"-c", "mknod /tmp/tun c 10 200 && exec cat /tmp/tun"},
			wantExit: 1, wantStderr: "cat: /tmp/tun: Operation not permitted"},
		{name: "other devices denied to a task given devices", command: "/bin/sh", user: "root",
			args:     []string{"-c", "mknod /tmp/tun c 10 200 && exec cat /tmp/tun"},
			wantExit: 1, wantStderr: "cat: /tmp/tun: Operation not permitted", task: withDevice},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(t.TempDir())
			if err := d.SetConfig(tc.plugin); err != nil {
				t.Fatalf("set config: %v", err)
			}
			d.SetChrootEnv(tc.chrootEnv)
			config := map[string]any{"command": tc.command, "args": tc.args}
			for k, v := range tc.extra {
				config[k] = v
			}
			cfg := isolationtest.TaskConfig(t, "web", config, 128)
			cfg.User = tc.user
			if tc.resources != nil {
				tc.resources(&cfg.Resources)
			}
			if tc.task != nil {
				tc.task(t, cfg)
			}
			res := isolationtest.Run(t, d, cfg)
			stdout, stderr := isolationtest.ReadLog(t, cfg.StdoutPath), isolationtest.ReadLog(t, cfg.StderrPath)
			if res.ExitCode != tc.wantExit || res.Signal != 0 || res.OOMKilled || res.Err != nil {
				t.Fatalf("exit = %+v, want code %d; stdout %q stderr %q", res, tc.wantExit, stdout, stderr)
			}
			if tc.wantStdout != "" && stdout != tc.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.wantStdout)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.wantStderr)
			}
		})
	}
}

// withVolume gives the task a world-writable host directory as /data.
func withVolume(readOnly bool) func(t *testing.T, cfg *drivers.TaskConfig) {
	return func(t *testing.T, cfg *drivers.TaskConfig) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		cfg.Mounts = append(cfg.Mounts, drivers.Mount{HostPath: dir, TaskPath: "/data", ReadOnly: readOnly})
	}
}

// withDevice gives the task the host's /dev/zero as /dev/roam-test0, as
// a GPU's node is given.
func withDevice(_ *testing.T, cfg *drivers.TaskConfig) {
	cfg.DeviceNodes = append(cfg.DeviceNodes, drivers.DeviceNode{HostPath: "/dev/zero", TaskPath: "/dev/roam-test0", Permissions: "rw"})
}

// checkCgroupV1 compares files of the task's cgroup (v1 only) with want.
func checkCgroupV1(t *testing.T, taskID string, want map[string]string) {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		return // cgroups v2: the library's own tests cover the files
	}
	for file, value := range want {
		controller, name, _ := strings.Cut(file, "/")
		path := filepath.Join("/sys/fs/cgroup", controller, isolation.CgroupName(taskID), name)
		data, err := os.ReadFile(path)
		if err != nil || strings.TrimSpace(string(data)) != value {
			t.Errorf("%s = %q (%v), want %s", path, data, err, value)
		}
	}
}

// hostSecret creates a file in the host's /tmp that no task may read.
func hostSecret(t *testing.T) string {
	buf := make([]byte, 8)
	rand.Read(buf)
	path := "/tmp/roam-secret-" + hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

func TestExecOOMKilled(t *testing.T) {
	isolationtest.RequireRoot(t)
	d := New(t.TempDir())
	// tail buffers its never-ending first line, so it grows without bound.
	cfg := isolationtest.TaskConfig(t, "hog", map[string]any{"command": "tail", "args": []string{"/dev/zero"}}, 64)
	res := isolationtest.Run(t, d, cfg)
	if !res.OOMKilled || res.Signal != 9 {
		t.Fatalf("exit = %+v, want OOM kill by signal 9", res)
	}
}

func TestExecRecoverExecStop(t *testing.T) {
	isolationtest.RequireRoot(t)
	stateRoot := t.TempDir()
	first := New(stateRoot)
	cfg := isolationtest.TaskConfig(t, "sleeper", map[string]any{"command": "sleep", "args": []string{"300"}}, 64)
	handle, err := first.StartTask(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { first.DestroyTask(cfg.ID, true) })

	// A new driver instance, as after a client restart.
	second := New(stateRoot)
	if err := second.RecoverTask(handle); err != nil {
		t.Fatalf("recover: %v", err)
	}
	t.Cleanup(func() { second.DestroyTask(cfg.ID, true) })

	var out, errOut bytes.Buffer
	code, err := second.ExecTask(context.Background(), cfg.ID,
		[]string{"/bin/sh", "-c", "id -un; cat /proc/1/cmdline | tr '\\0' ' '; ls /tmp/roam-secret-* 2>&1 | wc -l"},
		false, drivers.ExecStreams{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 {
		t.Fatalf("exec: code %d, err %v, stderr %q", code, err, errOut.String())
	}
	if want := "nobody\nsleep 300 1\n"; out.String() != want {
		t.Errorf("exec output = %q, want %q", out.String(), want)
	}

	var term bytes.Buffer
	code, err = second.ExecTask(context.Background(), cfg.ID, []string{"/bin/sh", "-c", "test -t 0 && test -t 1 && echo on a tty"},
		true, drivers.ExecStreams{Stdout: &term})
	if err != nil || code != 0 || term.String() != "on a tty\r\n" {
		t.Fatalf("exec with tty: code %d, err %v, output %q", code, err, term.String())
	}

	stats, err := second.TaskStats(context.Background(), cfg.ID)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	if stats.MemoryUsage == 0 || len(stats.PIDs) != 1 {
		t.Errorf("stats = %+v, want memory in use and one PID", stats)
	}
	checkCgroupV1(t, cfg.ID, map[string]string{"memory/memory.limit_in_bytes": "67108864", "cpu/cpu.shares": "100"})

	if err := second.DestroyTask(cfg.ID, false); err == nil {
		t.Fatal("destroying a running task without force succeeded")
	}
	waitCh, err := second.WaitTask(context.Background(), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	// sleep, as PID 1, ignores SIGINT: the stop must end in SIGKILL.
	if err := second.StopTask(cfg.ID, 500*time.Millisecond, ""); err != nil {
		t.Fatalf("stop: %v", err)
	}
	res := <-waitCh
	if res == nil || res.Signal != 9 {
		t.Fatalf("exit = %+v, want killed by signal 9", res)
	}
	if err := second.DestroyTask(cfg.ID, false); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if left, _ := os.ReadDir(stateRoot); len(left) != 0 {
		t.Errorf("state left behind in %s: %v", stateRoot, left)
	}
}

// runStarter is starterRole: argv is the task config (JSON), state root.
func runStarter() {
	var cfg drivers.TaskConfig
	if err := json.Unmarshal([]byte(os.Args[1]), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handle, err := New(os.Args[2]).StartTask(&cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(handle)
}

func TestExecSurvivesClientExit(t *testing.T) {
	isolationtest.RequireRoot(t)
	stateRoot := t.TempDir()
	cfg := isolationtest.TaskConfig(t, "survivor", map[string]any{"command": "sleep", "args": []string{"300"}}, 64)
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client, err := reexec.Command(starterRole, string(cfgJSON), stateRoot)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.Output()
	if err != nil {
		t.Fatalf("starter client: %v", err)
	}
	var handle drivers.TaskHandle
	if err := json.Unmarshal(out, &handle); err != nil {
		t.Fatalf("decode handle %q: %v", out, err)
	}
	// The client that started the task is gone; a new one re-attaches.
	d := New(stateRoot)
	if err := d.RecoverTask(&handle); err != nil {
		t.Fatalf("recover: %v", err)
	}
	t.Cleanup(func() { d.DestroyTask(cfg.ID, true) })
	var echo bytes.Buffer
	if code, err := d.ExecTask(context.Background(), cfg.ID, []string{"echo", "still here"}, false,
		drivers.ExecStreams{Stdout: &echo}); err != nil || code != 0 || echo.String() != "still here\n" {
		t.Fatalf("exec after client exit: code %d, err %v, output %q", code, err, echo.String())
	}
	if err := d.StopTask(cfg.ID, 100*time.Millisecond, "SIGTERM"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if res := isolationtest.Wait(t, d, cfg.ID); res.Signal != 9 {
		t.Fatalf("exit = %+v, want killed", res)
	}
}

func TestExecGracefulStop(t *testing.T) {
	isolationtest.RequireRoot(t)
	d := New(t.TempDir())
	cfg := isolationtest.TaskConfig(t, "trapper", map[string]any{
		"command": "/bin/sh", "args": []string{"-c", "trap 'exit 3' TERM; trap 'echo got HUP' HUP; echo ready; while :; do sleep 0.1; done"},
	}, 64)
	cfg.KillSignal = "SIGTERM"
	if _, err := d.StartTask(cfg); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { d.DestroyTask(cfg.ID, true) })
	isolationtest.WaitForLog(t, d, cfg.ID, cfg.StdoutPath, "ready")
	if err := d.SignalTask(cfg.ID, "SIGHUP"); err != nil {
		t.Fatalf("signal: %v", err)
	}
	isolationtest.WaitForLog(t, d, cfg.ID, cfg.StdoutPath, "got HUP")
	if err := d.SignalTask(cfg.ID, "SIGNOPE"); err == nil {
		t.Error("an unknown signal was accepted")
	}
	waitCh, err := d.WaitTask(context.Background(), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	// No signal named: the task's kill_signal applies.
	if err := d.StopTask(cfg.ID, time.Minute, ""); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if res := <-waitCh; res.ExitCode != 3 || res.Signal != 0 {
		t.Fatalf("exit = %+v, want exit code 3 from the trap", res)
	}
}

func TestExecRestartAppendsToLogs(t *testing.T) {
	isolationtest.RequireRoot(t)
	d := New(t.TempDir())
	cfg := isolationtest.TaskConfig(t, "again", map[string]any{"command": "/bin/echo", "args": []string{"run"}}, 64)
	for range 2 {
		if _, err := d.StartTask(cfg); err != nil {
			t.Fatalf("start: %v", err)
		}
		if res := isolationtest.Wait(t, d, cfg.ID); !res.Successful() {
			t.Fatalf("exit = %+v", res)
		}
	}
	if err := d.DestroyTask(cfg.ID, false); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if out := isolationtest.ReadLog(t, cfg.StdoutPath); out != "run\nrun\n" {
		t.Errorf("stdout = %q, want both runs", out)
	}
	if _, err := d.ExecTask(context.Background(), cfg.ID, []string{"true"}, false, drivers.ExecStreams{}); err == nil {
		t.Error("exec into a destroyed task succeeded")
	}
}

func TestExecValidateConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{name: "valid", config: map[string]any{"command": "/bin/true", "args": []any{"a"}, "pid_mode": "host"}},
		{name: "unknown key", config: map[string]any{"command": "x", "comand": "y"}, wantErr: `"comand"`},
		{name: "mistyped args", config: map[string]any{"command": "x", "args": "a b"}, wantErr: `"args"`},
		{name: "missing command", config: map[string]any{}, wantErr: `"command" is required`},
		{name: "bad pid_mode", config: map[string]any{"command": "x", "pid_mode": "shared"}, wantErr: `"pid_mode"`},
	}
	d := New(t.TempDir())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := d.ValidateConfig(tc.config)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want it to mention %s", err, tc.wantErr)
			}
		})
	}
}

func TestExecSetConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{name: "empty"},
		{name: "all options", config: map[string]any{"default_pid_mode": "private", "default_ipc_mode": "host",
			"allow_caps": []any{"chown", "net_raw"}, "no_pivot_root": false}},
		{name: "chroot_env is a client option", config: map[string]any{"chroot_env": map[string]any{"/bin": "/bin"}},
			wantErr: `"chroot_env"`},
		{name: "unknown key", config: map[string]any{"allow_cap": []any{}}, wantErr: `"allow_cap"`},
		{name: "unknown capability", config: map[string]any{"allow_caps": []any{"fly"}}, wantErr: `"fly"`},
		{name: "bad mode", config: map[string]any{"default_pid_mode": "shared"}, wantErr: `"default_pid_mode"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := New(t.TempDir()).SetConfig(tc.config)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want it to mention %s", err, tc.wantErr)
			}
		})
	}
}

func TestExecStartErrors(t *testing.T) {
	isolationtest.RequireRoot(t)
	d := New(t.TempDir())
	cfg := isolationtest.TaskConfig(t, "missing", map[string]any{"command": "/no/such/program"}, 64)
	_, err := d.StartTask(cfg)
	if err == nil || !strings.Contains(err.Error(), "/no/such/program") {
		t.Fatalf("start error = %v, want it to name the missing program", err)
	}
}
