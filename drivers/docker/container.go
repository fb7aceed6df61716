package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"

	"github.com/roam-project/roam/drivers"
)

// Labels put on every container, so that a restarted client (and the
// dangling container reconciler) can tell which task owns it.
const (
	labelAllocID   = "com.hashicorp.nomad.alloc_id"
	labelJobName   = "com.hashicorp.nomad.job_name"
	labelGroupName = "com.hashicorp.nomad.task_group_name"
	labelTaskName  = "com.hashicorp.nomad.task_name"
)

// In-container paths of the task's directories, as Nomad mounts them.
const (
	containerAllocDir   = "/alloc"
	containerLocalDir   = "/local"
	containerSecretsDir = "/secrets"
)

// containerName is "<task>-<allocID>", as Nomad names containers.
func containerName(cfg *drivers.TaskConfig) string {
	return cfg.TaskName + "-" + cfg.AllocID
}

// containerSpec is what ContainerCreate needs.
type containerSpec struct {
	config  *container.Config
	host    *container.HostConfig
	network *network.NetworkingConfig
	// existsAttempts bounds how often a leftover container of the same
	// name is removed before giving up.
	existsAttempts int
	// ignored lists config keys that do not apply here, with the reason.
	ignored []string
}

// buildContainerSpec maps a task onto a container: command, environment,
// labels, mounts, published ports and resource limits. It rejects options
// the plugin configuration does not allow.
func buildContainerSpec(task *drivers.TaskConfig, tc *TaskConfig, plugin PluginConfig) (*containerSpec, error) {
	if tc.Privileged && !plugin.AllowPrivileged {
		return nil, fmt.Errorf(`privileged containers are not allowed: set allow_privileged = true in the docker plugin's config`)
	}
	capAdd, capDrop, err := effectiveCaps(plugin.AllowCaps, tc.CapAdd, tc.CapDrop)
	if err != nil {
		return nil, err
	}
	binds, err := taskBinds(task, tc, plugin)
	if err != nil {
		return nil, err
	}
	mounts, err := taskMounts(task, tc, plugin)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, clientMounts(task)...)
	exposed, bindings, err := portBindings(task.Resources.Ports, tc)
	if err != nil {
		return nil, err
	}
	resources, err := containerResources(task.Resources, tc)
	if err != nil {
		return nil, err
	}
	cfg := &container.Config{
		Image:        tc.Image,
		Cmd:          taskCommand(tc),
		Entrypoint:   tc.Entrypoint,
		Env:          containerEnv(task.Env),
		Labels:       containerLabels(task, tc),
		User:         task.User,
		WorkingDir:   tc.WorkDir,
		Hostname:     tc.Hostname,
		Tty:          tc.TTY,
		OpenStdin:    tc.Interactive,
		ExposedPorts: exposed,
	}
	host := &container.HostConfig{
		Binds:          binds,
		Mounts:         mounts,
		PortBindings:   bindings,
		NetworkMode:    container.NetworkMode(tc.NetworkMode),
		Privileged:     tc.Privileged,
		CapAdd:         capAdd,
		CapDrop:        capDrop,
		DNS:            tc.DNSServers,
		DNSSearch:      tc.DNSSearchDomains,
		DNSOptions:     tc.DNSOptions,
		ExtraHosts:     tc.ExtraHosts,
		ReadonlyRootfs: tc.ReadonlyRootfs,
		SecurityOpt:    tc.SecurityOpt,
		Sysctls:        tc.Sysctl,
		ShmSize:        tc.ShmSize,
		IpcMode:        container.IpcMode(tc.IPCMode),
		PidMode:        container.PidMode(tc.PidMode),
		UTSMode:        container.UTSMode(tc.UTSMode),
		Resources:      resources,
		LogConfig:      logConfig(tc.Logging),
	}
	if tc.Init {
		host.Init = &tc.Init
	}
	applyDevices(task, host)
	spec := &containerSpec{config: cfg, host: host}
	if spec.ignored, err = applyOptions(spec, tc, plugin); err != nil {
		return nil, err
	}
	joinSandbox(task, spec)
	return spec, nil
}

// taskCommand is Nomad's mapping: `command` followed by `args`, or `args`
// alone to feed the image's entrypoint.
func taskCommand(tc *TaskConfig) []string {
	if tc.Command == "" {
		return tc.Args
	}
	return append([]string{tc.Command}, tc.Args...)
}

// containerEnv renders the task's environment with the task directories at
// their in-container paths.
func containerEnv(env map[string]string) []string {
	merged := make(map[string]string, len(env)+3)
	for k, v := range env {
		merged[k] = v
	}
	merged["NOMAD_ALLOC_DIR"] = containerAllocDir
	merged["NOMAD_TASK_DIR"] = containerLocalDir
	merged["NOMAD_SECRETS_DIR"] = containerSecretsDir
	out := make([]string, 0, len(merged))
	for _, k := range sortedKeys(merged) {
		out = append(out, k+"="+merged[k])
	}
	return out
}

func containerLabels(task *drivers.TaskConfig, tc *TaskConfig) map[string]string {
	labels := make(map[string]string, len(tc.Labels)+4)
	for k, v := range tc.Labels {
		labels[k] = v
	}
	labels[labelAllocID] = task.AllocID
	labels[labelJobName] = task.JobName
	labels[labelGroupName] = task.GroupName
	labels[labelTaskName] = task.TaskName
	return labels
}

// sharedAllocDir is the directory inside TaskConfig.AllocDir (the alloc's
// root) that the group's tasks share.
const sharedAllocDir = "alloc"

// taskBinds mounts the alloc, local and secrets directories, then the
// task's `volumes`. Relative host paths are resolved in the task directory
// and always allowed; absolute ones need `volumes { enabled = true }`.
func taskBinds(task *drivers.TaskConfig, tc *TaskConfig, plugin PluginConfig) ([]string, error) {
	var binds []string
	if task.AllocDir != "" {
		binds = append(binds, filepath.Join(task.AllocDir, sharedAllocDir)+":"+containerAllocDir)
	}
	if task.TaskDir != "" {
		binds = append(binds,
			filepath.Join(task.TaskDir, "local")+":"+containerLocalDir,
			filepath.Join(task.TaskDir, "secrets")+":"+containerSecretsDir)
	}
	for _, v := range tc.Volumes {
		host, target, mode, err := splitVolume(v)
		if err != nil {
			return nil, err
		}
		host, err = hostPath(task, host, plugin)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v, err)
		}
		if plugin.Volumes.SELinuxLabel != "" {
			mode = strings.Trim(mode+","+plugin.Volumes.SELinuxLabel, ",")
		}
		bind := host + ":" + target
		if mode != "" {
			bind += ":" + mode
		}
		binds = append(binds, bind)
	}
	return binds, nil
}

// hostPath resolves a host path of a volume or bind mount.
func hostPath(task *drivers.TaskConfig, p string, plugin PluginConfig) (string, error) {
	if !filepath.IsAbs(p) {
		if task.TaskDir == "" {
			return "", fmt.Errorf("relative host path %q needs a task directory", p)
		}
		return filepath.Join(task.TaskDir, p), nil
	}
	if !plugin.Volumes.Enabled {
		return "", fmt.Errorf("host path %q: volumes are not enabled; set volumes { enabled = true } in the docker plugin's config", p)
	}
	return p, nil
}

func taskMounts(task *drivers.TaskConfig, tc *TaskConfig, plugin PluginConfig) ([]mount.Mount, error) {
	var out []mount.Mount
	for i, m := range tc.Mounts {
		dm := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.Readonly}
		switch dm.Type {
		case "", mount.TypeVolume:
			dm.Type = mount.TypeVolume
			vo := m.VolumeOptions
			if vo.DriverConfig.Name != "" && !plugin.Volumes.Enabled {
				return nil, fmt.Errorf("mount[%d]: volume drivers are not enabled; set volumes { enabled = true } in the docker plugin's config", i)
			}
			dm.VolumeOptions = &mount.VolumeOptions{NoCopy: vo.NoCopy, Labels: vo.Labels}
			if vo.DriverConfig.Name != "" {
				dm.VolumeOptions.DriverConfig = &mount.Driver{Name: vo.DriverConfig.Name, Options: vo.DriverConfig.Options}
			}
		case mount.TypeBind:
			src, err := hostPath(task, m.Source, plugin)
			if err != nil {
				return nil, fmt.Errorf("mount[%d]: %w", i, err)
			}
			dm.Source = src
			if p := m.BindOptions.Propagation; p != "" {
				dm.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(p)}
			}
		case mount.TypeTmpfs:
			dm.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: m.TmpfsOptions.Size, Mode: os.FileMode(m.TmpfsOptions.Mode)}
		}
		out = append(out, dm)
	}
	return out, nil
}

// portBindings publishes each of the task's `ports` labels (or, in the
// older syntax, each `port_map` label): the host port Value on HostIP to
// the container port To (or Value when To is 0; port_map's value wins),
// for both tcp and udp, as Nomad does.
func portBindings(ports []drivers.Port, tc *TaskConfig) (nat.PortSet, nat.PortMap, error) {
	labels := tc.Ports
	if len(labels) == 0 {
		labels = sortedKeys(tc.PortMap)
	}
	if len(labels) == 0 {
		return nil, nil, nil
	}
	byLabel := make(map[string]drivers.Port, len(ports))
	for _, p := range ports {
		byLabel[p.Label] = p
	}
	exposed, bindings := nat.PortSet{}, nat.PortMap{}
	for _, label := range labels {
		p, ok := byLabel[label]
		if !ok {
			return nil, nil, fmt.Errorf("port %q is not defined in the group's network block", label)
		}
		to := p.To
		if mapped, err := strconv.Atoi(tc.PortMap[label]); err == nil {
			to = mapped
		}
		if to <= 0 {
			to = p.Value
		}
		for _, proto := range []string{"tcp", "udp"} {
			cp := nat.Port(strconv.Itoa(to) + "/" + proto)
			exposed[cp] = struct{}{}
			if tc.NetworkMode != "host" {
				bindings[cp] = append(bindings[cp], nat.PortBinding{HostIP: p.HostIP, HostPort: strconv.Itoa(p.Value)})
			}
		}
	}
	return exposed, bindings, nil
}

// containerResources maps Nomad's resources: with memory_max (or the
// config's memory_hard_limit) the hard limit is the max and `memory` the
// reservation; otherwise `memory` is the hard limit. Swap is disabled.
// `cpu` is the shares, and with cpu_hard_limit also a CFS quota; reserved
// `cores` win over cpuset_cpus.
func containerResources(res drivers.Resources, tc *TaskConfig) (container.Resources, error) {
	const mb = 1024 * 1024
	var out container.Resources
	hard := res.MemoryMaxMB
	if tc.MemoryHardLimit > 0 {
		hard = tc.MemoryHardLimit
	}
	if hard > res.MemoryMB && res.MemoryMB > 0 {
		out.Memory = hard * mb
		out.MemoryReservation = res.MemoryMB * mb
	} else if res.MemoryMB > 0 {
		out.Memory = res.MemoryMB * mb
	}
	out.MemorySwap = out.Memory
	if res.CPUShares > 0 {
		out.CPUShares = max(res.CPUShares, 2)
		if tc.CPUHardLimit {
			out.CPUPeriod = tc.CPUCFSPeriod
			out.CPUQuota = cpuQuota(res.CPUShares, tc.CPUCFSPeriod)
		}
	}
	out.CpusetCpus = tc.CPUSetCPUs
	if len(res.ReservedCores) > 0 {
		cores := slices.Sorted(slices.Values(res.ReservedCores))
		ids := make([]string, len(cores))
		for i, c := range cores {
			ids[i] = strconv.Itoa(int(c))
		}
		out.CpusetCpus = strings.Join(ids, ",")
	}
	if tc.PidsLimit > 0 {
		out.PidsLimit = &tc.PidsLimit
	}
	for _, name := range sortedKeys(tc.Ulimit) {
		soft, hard, err := parseUlimit(tc.Ulimit[name])
		if err != nil {
			return out, fmt.Errorf("ulimit %q: %w", name, err)
		}
		out.Ulimits = append(out.Ulimits, &units.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	return out, nil
}
