package isolation

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/roam-project/roam/drivers"
)

// Namespace modes of pid_mode and ipc_mode.
const (
	ModePrivate = "private"
	ModeHost    = "host"
)

// PluginOptions are the plugin options shared by drivers that chroot their
// tasks (exec, java), and the client's `chroot_env`, which is no plugin
// option but is set through the driver's SetChrootEnv.
type PluginOptions struct {
	DefaultPIDMode string            `json:"default_pid_mode"`
	DefaultIPCMode string            `json:"default_ipc_mode"`
	ChrootEnv      map[string]string `json:"-"`
	// AllowCaps bounds the capabilities tasks may hold; nil means
	// DefaultCapabilities.
	AllowCaps []string `json:"allow_caps"`
	// NoPivotRoot uses chroot rather than pivot_root.
	NoPivotRoot bool `json:"no_pivot_root"`
}

// TaskOptions are the task options shared by drivers that chroot their
// tasks; a driver's config struct embeds it.
type TaskOptions struct {
	PIDMode string   `json:"pid_mode"`
	IPCMode string   `json:"ipc_mode"`
	WorkDir string   `json:"work_dir"`
	CapAdd  []string `json:"cap_add"`
	CapDrop []string `json:"cap_drop"`
}

// Validate checks the modes and capability names.
func (p *PluginOptions) Validate() error {
	if err := checkMode("default_pid_mode", p.DefaultPIDMode); err != nil {
		return err
	}
	if err := checkMode("default_ipc_mode", p.DefaultIPCMode); err != nil {
		return err
	}
	_, err := normalizeCaps("allow_caps", p.AllowCaps)
	return err
}

// Validate checks the modes and capability names.
func (o *TaskOptions) Validate() error {
	if err := checkMode("pid_mode", o.PIDMode); err != nil {
		return err
	}
	if err := checkMode("ipc_mode", o.IPCMode); err != nil {
		return err
	}
	if _, err := normalizeCaps("cap_add", o.CapAdd); err != nil {
		return err
	}
	_, err := normalizeCaps("cap_drop", o.CapDrop)
	return err
}

func checkMode(key, mode string) error {
	if mode != "" && mode != ModePrivate && mode != ModeHost {
		return fmt.Errorf("config key %q: %q is not %q or %q", key, mode, ModePrivate, ModeHost)
	}
	return nil
}

// ChrootSpec makes spec a chrooted one by the plugin and task options,
// with the capabilities they allow; extraEnv adds host paths to the chroot
// (a JVM's home). The task's NOMAD_*_DIR variables are set to the paths it
// sees in the chroot.
func (p *PluginOptions) ChrootSpec(spec *Spec, task TaskOptions, extraEnv map[string]string) error {
	caps, err := Capabilities(p.AllowCaps, task.CapAdd, task.CapDrop)
	if err != nil {
		return err
	}
	spec.Chroot, spec.Capabilities, spec.NoPivotRoot = true, caps, p.NoPivotRoot
	spec.Limits.Devices = deviceRules(spec.DeviceNodes)
	spec.Limits.DevicesRequired = len(spec.DeviceNodes) > 0
	pidMode, ipcMode := firstSet(task.PIDMode, p.DefaultPIDMode), firstSet(task.IPCMode, p.DefaultIPCMode)
	spec.HostPID, spec.HostIPC = pidMode == ModeHost, ipcMode == ModeHost
	spec.WorkDir = task.WorkDir
	env := p.ChrootEnv
	if env == nil {
		env = DefaultChrootEnv
	}
	spec.ChrootEnv = make(map[string]string, len(env)+len(extraEnv))
	for src, dst := range env {
		spec.ChrootEnv[src] = dst
	}
	for src, dst := range extraEnv {
		spec.ChrootEnv[src] = dst
	}
	spec.Env = setEnv(spec.Env, map[string]string{
		"NOMAD_ALLOC_DIR": "/alloc", "NOMAD_TASK_DIR": "/local", "NOMAD_SECRETS_DIR": "/secrets",
	})
	return nil
}

// setEnv returns env (KEY=VALUE pairs) with the keys of set replaced or added.
func setEnv(env []string, set map[string]string) []string {
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		key, _, _ := strings.Cut(kv, "=")
		if _, ok := set[key]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// FingerprintIsolation reports whether this machine can isolate tasks:
// Linux, root and cgroups.
func FingerprintIsolation(_ context.Context) *drivers.Fingerprint {
	fp := &drivers.Fingerprint{Detected: true, Attributes: map[string]string{}}
	switch {
	case os.Geteuid() != 0:
		fp.HealthDescription = "the driver must run as root"
	case !CgroupsAvailable():
		fp.HealthDescription = "no cgroup filesystem mounted"
	default:
		fp.Healthy = true
		fp.HealthDescription = "Healthy"
		fp.Attributes[""] = "1"
	}
	return fp
}
