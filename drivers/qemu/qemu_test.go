package qemu

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/isolation/isolationtest"
	"github.com/roam-project/roam/internal/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func requireQEMU(t *testing.T) {
	t.Helper()
	isolationtest.RequireRoot(t)
	if _, err := exec.LookPath(binary); err != nil {
		t.Skipf("%s not found (apt-get install qemu-system-x86): %v", binary, err)
	}
}

// vmTask returns a task booting a blank 4 MB disk (QEMU stays in the BIOS).
func vmTask(t *testing.T, config map[string]any) *drivers.TaskConfig {
	t.Helper()
	cfg := isolationtest.TaskConfig(t, "vm", config, 64)
	image := filepath.Join(cfg.TaskDir, "local", "disk.img")
	if err := os.WriteFile(image, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(image, 4<<20); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestQEMUGracefulShutdownAfterRecover(t *testing.T) {
	requireQEMU(t)
	stateRoot := t.TempDir()
	first := New(stateRoot)
	cfg := vmTask(t, map[string]any{
		"image_path": "local/disk.img", "accelerator": "tcg", "graceful_shutdown": true,
		"port_map": []any{map[string]any{"ssh": 22}},
	})
	port := freePort(t)
	cfg.Resources.Ports = []drivers.Port{{Label: "ssh", Value: port, To: 22, HostIP: "127.0.0.1"}}
	handle, err := first.StartTask(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { first.DestroyTask(cfg.ID, true) })

	second := New(stateRoot)
	if err := second.RecoverTask(handle); err != nil {
		t.Fatalf("recover: %v", err)
	}
	isolationtest.WaitFor(t, "the forwarded port to accept", func() bool {
		conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	stats, err := second.TaskStats(context.Background(), cfg.ID)
	if err != nil || stats.MemoryUsage == 0 {
		t.Fatalf("stats = %+v, %v; want memory in use", stats, err)
	}
	waitCh, err := second.WaitTask(context.Background(), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A VM in its BIOS ignores the power button, so QEMU gets killed.
	if err := second.StopTask(cfg.ID, time.Second, ""); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if res := <-waitCh; res == nil || res.Signal != 9 {
		t.Fatalf("exit = %+v, want killed after the powerdown was ignored", res)
	}
	if err := second.DestroyTask(cfg.ID, false); err != nil {
		t.Fatalf("destroy: %v", err)
	}
}

func TestQEMUStopBySignal(t *testing.T) {
	requireQEMU(t)
	for _, accel := range []string{accelTCG, accelKVM} {
		t.Run(accel, func(t *testing.T) {
			if accel == accelKVM && kvmUsable() != nil {
				t.Skipf("no kvm here: %v", kvmUsable())
			}
			testStopBySignal(t, accel)
		})
	}
}

func testStopBySignal(t *testing.T, accel string) {
	d := New(t.TempDir())
	cfg := vmTask(t, map[string]any{"image_path": filepath.Join("local", "disk.img"), "accelerator": accel})
	if _, err := d.StartTask(cfg); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { d.DestroyTask(cfg.ID, true) })
	// SeaBIOS prints to the serial console, which -nographic logs.
	isolationtest.WaitForLog(t, d, cfg.ID, cfg.StdoutPath, "SeaBIOS")
	waitCh, err := d.WaitTask(context.Background(), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.StopTask(cfg.ID, time.Minute, "SIGTERM"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if res := <-waitCh; res == nil || res.Signal != 0 {
		t.Fatalf("exit = %+v, want QEMU to exit on SIGTERM by itself", res)
	}
	if stderr := isolationtest.ReadLog(t, cfg.StderrPath); !strings.Contains(stderr, "terminating on signal 15") {
		t.Errorf("stderr = %q, want QEMU's note on the signal", stderr)
	}
}

func TestQEMUImagePath(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.img")
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		image      string
		imagePaths []string
		wantErr    string
	}{
		{name: "relative in task dir", image: "local/disk.img"},
		{name: "outside rejected", image: outside, wantErr: "outside the task and alloc directories"},
		{name: "outside allowed by image_paths", image: outside, imagePaths: []string{filepath.Dir(outside)}},
		{name: "escape by dot-dot rejected", image: "../../" + filepath.Base(filepath.Dir(outside)) + "/outside.img",
			wantErr: "outside"},
		{name: "missing", image: "local/none.img", wantErr: "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := vmTask(t, nil)
			tcfg := &taskConfig{ImagePath: tc.image, Accelerator: accelTCG}
			_, err := newVMCommand(cfg, tcfg, &pluginConfig{ImagePaths: tc.imagePaths})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestQEMUCommandLine(t *testing.T) {
	cfg := vmTask(t, nil)
	cfg.Resources.MemoryMB = 256
	cfg.Resources.Ports = []drivers.Port{{Label: "web", Value: 8080}, {Label: "ssh", Value: 2222, HostIP: "127.0.0.1"}}
	tc, err := decodeTaskConfig(map[string]any{
		"image_path": "local/disk.img", "accelerator": "tcg", "graceful_shutdown": true,
		"port_map": map[string]any{"web": 80, "ssh": 22}, "args": []any{"-smp", "2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := newVMCommand(cfg, tc, &pluginConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(vm.args, " ")
	for _, want := range []string{
		"-machine type=pc,accel=tcg", "-m 256M", "-nographic", "if=ide",
		"-monitor unix:" + monitorPath(cfg.TaskDir) + ",server,nowait",
		"hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:127.0.0.1:2222-:22,hostfwd=tcp::8080-:80",
		"-device virtio-net,netdev=user.0", "-smp 2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("command line %q lacks %q", got, want)
		}
	}
	if _, err := newVMCommand(cfg, tc, &pluginConfig{ArgsAllowlist: []string{"-m"}}); err == nil ||
		!strings.Contains(err.Error(), `"-smp"`) {
		t.Errorf("args_allowlist error = %v, want it to name -smp", err)
	}
}

func TestQEMUValidateConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{name: "valid", config: map[string]any{"image_path": "a.img", "accelerator": "kvm", "args": []any{"-smp", "2"}}},
		{name: "missing image", config: map[string]any{}, wantErr: `"image_path" is required`},
		{name: "unknown key", config: map[string]any{"image_path": "a", "image": "b"}, wantErr: `"image"`},
		{name: "bad accelerator", config: map[string]any{"image_path": "a", "accelerator": "hvf"}, wantErr: `"accelerator"`},
		{name: "mistyped graceful_shutdown", config: map[string]any{"image_path": "a", "graceful_shutdown": "yes"},
			wantErr: `"graceful_shutdown"`},
		{name: "mistyped port_map", config: map[string]any{"image_path": "a", "port_map": "80"}, wantErr: `"port_map"`},
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

func TestQEMUFingerprint(t *testing.T) {
	requireQEMU(t)
	fp := New(t.TempDir()).Fingerprint(context.Background())
	if !fp.Healthy || fp.Attributes["version"] == "" {
		t.Fatalf("fingerprint = %+v, want healthy with a version", fp)
	}
	if v, err := parseVersion("QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7)\nCopyright"); err != nil || v != "7.2.15" {
		t.Errorf("parseVersion = %q, %v", v, err)
	}
}
