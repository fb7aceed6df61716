// Package qemu is the "qemu" task driver: it boots a disk image in a QEMU
// virtual machine, under the isolation package's supervisor and cgroup (no
// chroot: QEMU needs the host's devices), with ports forwarded through
// QEMU's user networking and shutdown through its monitor.
package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/isolation"
)

// Name is the driver's name in job files.
const Name = "qemu"

// binary is the emulator the driver runs.
const binary = "qemu-system-x86_64"

// pluginConfig is the driver's `plugin "qemu" { config {} }` block.
type pluginConfig struct {
	// ImagePaths are host directories images may come from besides the
	// task's and the alloc's directories.
	ImagePaths []string `json:"image_paths"`
	// ArgsAllowlist, when set, limits the flags a task's args may pass.
	ArgsAllowlist []string `json:"args_allowlist"`
}

// Driver is the qemu driver. The zero value is not usable; call New.
type Driver struct {
	*isolation.Tasks

	mu       sync.RWMutex
	config   pluginConfig
	monitors map[string]string // task ID → monitor socket, for graceful_shutdown
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a qemu driver whose supervisors keep their state under
// stateRoot (isolation.DefaultStateRoot when empty).
func New(stateRoot string) *Driver {
	if stateRoot == "" {
		stateRoot = isolation.DefaultStateRoot
	}
	return &Driver{Tasks: isolation.NewTasks(Name, stateRoot), monitors: map[string]string{}}
}

// Name returns "qemu".
func (d *Driver) Name() string { return Name }

// SetConfig applies the plugin options image_paths and args_allowlist.
func (d *Driver) SetConfig(config map[string]any) error {
	var pc pluginConfig
	if err := isolation.DecodeConfig(config, &pc); err != nil {
		return err
	}
	d.mu.Lock()
	d.config = pc
	d.mu.Unlock()
	return nil
}

// Fingerprint detects QEMU (`qemu-system-x86_64 --version`) and reports
// its version as driver.qemu.version.
func (d *Driver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	version, err := qemuVersion(ctx)
	if err != nil {
		return &drivers.Fingerprint{HealthDescription: err.Error(), Attributes: map[string]string{}}
	}
	fp := isolation.FingerprintIsolation(ctx)
	if fp.Healthy {
		fp.Attributes["version"] = version
	}
	return fp
}

func qemuVersion(ctx context.Context) (string, error) {
	path, err := exec.LookPath(binary)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH: %w", binary, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", binary, err, bytes.TrimSpace(out))
	}
	return parseVersion(string(out))
}

// parseVersion reads "QEMU emulator version 7.2.15 (Debian ...)".
func parseVersion(out string) (string, error) {
	_, rest, ok := strings.Cut(out, "version ")
	fields := strings.Fields(rest)
	if !ok || len(fields) == 0 {
		return "", fmt.Errorf("%s --version: unexpected output %q", binary, out)
	}
	return fields[0], nil
}

// ValidateConfig checks a task's config block.
func (d *Driver) ValidateConfig(config map[string]any) error {
	_, err := decodeTaskConfig(config)
	return err
}

// StartTask boots the task's image.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	tc, err := decodeTaskConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	d.mu.RLock()
	pc := d.config
	d.mu.RUnlock()
	vm, err := newVMCommand(cfg, tc, &pc)
	if err != nil {
		return nil, err
	}
	spec := isolation.NewSpec(cfg)
	spec.Command, spec.Args = binary, vm.args
	// QEMU's memory is the VM's plus its own: only CPU is limited.
	spec.Limits.MemoryMB, spec.Limits.MemoryReservationMB = 0, 0
	handle, err := d.Launch(cfg, spec)
	if err != nil {
		return nil, err
	}
	d.setMonitor(cfg.ID, vm.monitor)
	return handle, nil
}

func (d *Driver) setMonitor(taskID, socket string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if socket == "" {
		delete(d.monitors, taskID)
	} else {
		d.monitors[taskID] = socket
	}
}

// RecoverTask re-attaches to a VM started by an earlier client process.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if err := d.Tasks.RecoverTask(handle); err != nil {
		return err
	}
	tc, err := decodeTaskConfig(handle.Config.Config)
	if err != nil {
		return fmt.Errorf("recover task %s: %w", handle.Config.ID, err)
	}
	if tc.GracefulShutdown {
		d.setMonitor(handle.Config.ID, monitorPath(handle.Config.TaskDir))
	}
	return nil
}

// StopTask powers the VM down through its monitor when the task asked for
// graceful_shutdown, else sends signal; after timeout it kills QEMU.
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	d.mu.RLock()
	socket := d.monitors[taskID]
	d.mu.RUnlock()
	if socket == "" {
		return d.Tasks.StopTask(taskID, timeout, signal)
	}
	t, err := d.Get(taskID)
	if err != nil {
		return err
	}
	if t.Running() {
		if err := powerdown(socket); err != nil {
			return fmt.Errorf("stop task %s: %w", taskID, err)
		}
	}
	return isolation.StopAfter(t, timeout)
}

// DestroyTask removes the task and forgets its monitor.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	if err := d.Tasks.DestroyTask(taskID, force); err != nil {
		return err
	}
	d.setMonitor(taskID, "")
	return nil
}
