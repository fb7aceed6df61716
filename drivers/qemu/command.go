package qemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/isolation"
	"golang.org/x/sys/unix"
)

// Accelerators of the `accelerator` option.
const (
	accelKVM = "kvm"
	accelTCG = "tcg"
)

// taskConfig is the task's `config` block.
type taskConfig struct {
	ImagePath        string   `json:"image_path"`
	Accelerator      string   `json:"accelerator"`
	DriveInterface   string   `json:"drive_interface"`
	GracefulShutdown bool     `json:"graceful_shutdown"`
	Args             []string `json:"args"`
	PortMap          portMap  `json:"port_map"`
}

// portMap maps a port label to the guest's port. HCL gives it as a map or
// as a list of maps (one per `port_map` block).
type portMap map[string]int

// UnmarshalJSON accepts {"web": 80} and [{"web": 80}, {"ssh": 22}].
func (p *portMap) UnmarshalJSON(data []byte) error {
	var one map[string]int
	if err := json.Unmarshal(data, &one); err == nil {
		*p = one
		return nil
	}
	var many []map[string]int
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New(`config key "port_map": expected a map of port labels to guest ports`)
	}
	*p = portMap{}
	for _, m := range many {
		for label, port := range m {
			(*p)[label] = port
		}
	}
	return nil
}

func decodeTaskConfig(config map[string]any) (*taskConfig, error) {
	var tc taskConfig
	if err := isolation.DecodeConfig(config, &tc); err != nil {
		return nil, err
	}
	if tc.ImagePath == "" {
		return nil, errors.New(`config key "image_path" is required`)
	}
	switch tc.Accelerator {
	case "", accelKVM, accelTCG:
	default:
		return nil, fmt.Errorf(`config key "accelerator": %q is not %q or %q`, tc.Accelerator, accelKVM, accelTCG)
	}
	for label, port := range tc.PortMap {
		if port <= 0 || port > 65535 {
			return nil, fmt.Errorf(`config key "port_map": port %d of %q is out of range`, port, label)
		}
	}
	return &tc, nil
}

// vmCommand is QEMU's command line for one task.
type vmCommand struct {
	args    []string
	monitor string // monitor socket, when graceful_shutdown
}

// newVMCommand builds QEMU's arguments from the task's config and the
// plugin's rules.
func newVMCommand(cfg *drivers.TaskConfig, tc *taskConfig, pc *pluginConfig) (*vmCommand, error) {
	image, err := imagePath(cfg, tc.ImagePath, pc.ImagePaths)
	if err != nil {
		return nil, err
	}
	if err := checkArgs(tc.Args, pc.ArgsAllowlist); err != nil {
		return nil, err
	}
	accel, err := accelerator(tc.Accelerator)
	if err != nil {
		return nil, err
	}
	iface := tc.DriveInterface
	if iface == "" {
		iface = "ide"
	}
	vm := &vmCommand{args: []string{
		"-machine", "type=pc,accel=" + accel, "-name", cfg.TaskName,
		"-drive", "file=" + image + ",if=" + iface, "-nographic",
	}}
	if cfg.Resources.MemoryMB > 0 {
		vm.args = append(vm.args, "-m", strconv.FormatInt(cfg.Resources.MemoryMB, 10)+"M")
	}
	if accel == accelKVM {
		// No "-cpu host": nested KVM often cannot set the host model's
		// MSRs and QEMU aborts. Tasks that want it pass it in args.
		vm.args = append(vm.args, "-enable-kvm")
	}
	if tc.GracefulShutdown {
		vm.monitor = monitorPath(cfg.TaskDir)
		if len(vm.monitor) >= len(unix.RawSockaddrUnix{}.Path) {
			return nil, fmt.Errorf("graceful_shutdown: monitor socket path %s is too long for a unix socket", vm.monitor)
		}
		vm.args = append(vm.args, "-monitor", "unix:"+vm.monitor+",server,nowait")
	}
	netArgs, err := forwardPorts(tc.PortMap, cfg.Resources.Ports)
	if err != nil {
		return nil, err
	}
	vm.args = append(vm.args, netArgs...)
	vm.args = append(vm.args, tc.Args...)
	return vm, nil
}

// monitorPath is where a task's QEMU monitor socket lives.
func monitorPath(taskDir string) string {
	return filepath.Join(taskDir, "qemu-monitor.sock")
}

// imagePath resolves image_path (relative paths are in the task directory)
// and requires it inside the task's or alloc's directory or image_paths.
func imagePath(cfg *drivers.TaskConfig, image string, allowed []string) (string, error) {
	if !filepath.IsAbs(image) {
		image = filepath.Join(cfg.TaskDir, image)
	}
	resolved, err := filepath.EvalSymlinks(image)
	if err != nil {
		return "", fmt.Errorf("image_path %q: %w", image, err)
	}
	for _, dir := range append([]string{cfg.TaskDir, cfg.AllocDir}, allowed...) {
		if dir == "" {
			continue
		}
		if root, err := filepath.EvalSymlinks(dir); err == nil && within(root, resolved) {
			return resolved, nil
		}
	}
	return "", fmt.Errorf("image_path %q is outside the task and alloc directories; "+
		"allow its directory with the plugin option image_paths", image)
}

func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// checkArgs enforces args_allowlist on the flags in args.
func checkArgs(args, allowlist []string) error {
	if len(allowlist) == 0 {
		return nil
	}
	for _, arg := range args {
		if strings.HasPrefix(arg, "-") && !contains(allowlist, arg) {
			return fmt.Errorf("args: flag %q is not in the plugin's args_allowlist", arg)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// accelerator picks the accelerator: kvm when asked for or, left empty,
// when /dev/kvm is usable; tcg otherwise.
func accelerator(want string) (string, error) {
	switch {
	case want == accelTCG:
		return accelTCG, nil
	case kvmUsable() == nil:
		return accelKVM, nil
	case want == accelKVM:
		return "", fmt.Errorf("accelerator kvm: %w", kvmUsable())
	default:
		return accelTCG, nil
	}
}

// kvmUsable opens /dev/kvm and asks its API version.
func kvmUsable() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("/dev/kvm is not usable: %w", err)
	}
	defer f.Close()
	const kvmGetAPIVersion = 0xAE00
	if _, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion); err != nil {
		return fmt.Errorf("/dev/kvm is not usable: %w", err)
	}
	return nil
}

// forwardPorts forwards each port_map label's host port to its guest port
// (TCP and UDP) through QEMU's user networking.
func forwardPorts(pm portMap, ports []drivers.Port) ([]string, error) {
	if len(pm) == 0 {
		return nil, nil
	}
	labels := make([]string, 0, len(pm))
	for label := range pm {
		labels = append(labels, label)
	}
	sort.Strings(labels)
	netdev := "user,id=user.0"
	for _, label := range labels {
		host, ok := findPort(ports, label)
		if !ok {
			return nil, fmt.Errorf("port_map: no port labelled %q in the task's network", label)
		}
		for _, proto := range []string{"tcp", "udp"} {
			netdev += fmt.Sprintf(",hostfwd=%s:%s:%d-:%d", proto, host.HostIP, host.Value, pm[label])
		}
	}
	return []string{"-netdev", netdev, "-device", "virtio-net,netdev=user.0"}, nil
}

func findPort(ports []drivers.Port, label string) (drivers.Port, bool) {
	for _, p := range ports {
		if p.Label == label {
			return p, true
		}
	}
	return drivers.Port{}, false
}
