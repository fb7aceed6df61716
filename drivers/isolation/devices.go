package isolation

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/roam-project/roam/drivers"
)

// defaultDeviceRules are the devices every task may use once its cgroup
// restricts devices: those mountDev gives it (null, zero, full, random,
// urandom, tty, ptmx and its ptys), and mknod of any node, as runc allows.
var defaultDeviceRules = []specs.LinuxDeviceCgroup{
	{Allow: false, Type: "a", Major: ptr(int64(-1)), Minor: ptr(int64(-1)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(-1)), Minor: ptr(int64(-1)), Access: "m"},
	{Allow: true, Type: "b", Major: ptr(int64(-1)), Minor: ptr(int64(-1)), Access: "m"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(5)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(7)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(8)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(9)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(5)), Minor: ptr(int64(0)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(5)), Minor: ptr(int64(2)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(136)), Minor: ptr(int64(-1)), Access: "rwm"},
}

func ptr[T any](v T) *T { return &v }

// deviceRules is the cgroup device allow-list of a chrooted task: the
// defaults and exactly its device nodes, so that not even root in the
// task can mknod its way to another device (a disk, another task's GPU).
func deviceRules(nodes []drivers.DeviceNode) []specs.LinuxDeviceCgroup {
	rules := append([]specs.LinuxDeviceCgroup{}, defaultDeviceRules...)
	for _, n := range nodes {
		var st unix.Stat_t
		if err := unix.Stat(n.HostPath, &st); err != nil {
			continue // not there: the task cannot open it either way
		}
		typ := "c"
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			typ = "b"
		}
		access := n.Permissions
		if access == "" {
			access = "rwm"
		}
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: typ,
			Major: ptr(int64(unix.Major(st.Rdev))), Minor: ptr(int64(unix.Minor(st.Rdev))), Access: access})
	}
	return rules
}

// bindDevices binds the task's device nodes into its /dev.
func bindDevices(root string, nodes []drivers.DeviceNode) error {
	for _, n := range nodes {
		target := n.TaskPath
		if target == "" {
			target = n.HostPath
		}
		if !strings.HasPrefix(filepath.Clean(target), "/dev/") {
			return fmt.Errorf("device %s: task path %q is not under /dev", n.HostPath, target)
		}
		if err := bindMount(n.HostPath, filepath.Join(root, filepath.Clean(target)), false); err != nil {
			return err
		}
	}
	return nil
}

// propagationFlags maps a volume_mount's propagation_mode to mount flags.
var propagationFlags = map[string]uintptr{
	"":              unix.MS_PRIVATE,
	"private":       unix.MS_PRIVATE,
	"host-to-task":  unix.MS_SLAVE,
	"bidirectional": unix.MS_SHARED,
}

// bindVolumes binds the task's host volumes at their destinations inside
// its root; a destination cannot climb out of the root.
func bindVolumes(root string, mounts []drivers.Mount) error {
	for _, m := range mounts {
		target := filepath.Join(root, filepath.Clean("/"+m.TaskPath))
		if err := bindMount(m.HostPath, target, m.ReadOnly); err != nil {
			return fmt.Errorf("volume at %s: %w", m.TaskPath, err)
		}
		flags, ok := propagationFlags[m.PropagationMode]
		if !ok {
			return fmt.Errorf("volume at %s: unknown propagation mode %q", m.TaskPath, m.PropagationMode)
		}
		if err := unix.Mount("", target, "", flags|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("volume at %s: set propagation: %w", m.TaskPath, err)
		}
	}
	return nil
}
