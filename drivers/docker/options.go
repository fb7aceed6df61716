package docker

import (
	"bufio"
	"fmt"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// cgroupPermissions is what a device's cgroup_permissions may hold.
var cgroupPermissions = regexp.MustCompile(`^r?w?m?$`)

// validateExtras checks the values of the less common task config keys.
func (c *TaskConfig) validateExtras() error {
	if c.CPUCFSPeriod < 1000 || c.CPUCFSPeriod > 1000000 {
		return fmt.Errorf(`key "cpu_cfs_period": %d is outside 1000..1000000 microseconds`, c.CPUCFSPeriod)
	}
	if c.ContainerExistsAttempts < 0 {
		return fmt.Errorf(`key "container_exists_attempts": must not be negative`)
	}
	if c.OOMScoreAdj < 0 || c.OOMScoreAdj > 1000 {
		return fmt.Errorf(`key "oom_score_adj": %d is outside 0..1000`, c.OOMScoreAdj)
	}
	switch c.CgroupNS {
	case "", "host", "private":
	default:
		return fmt.Errorf(`key "cgroupns": %q is not one of host, private`, c.CgroupNS)
	}
	for i, d := range c.Devices {
		if d.HostPath == "" {
			return fmt.Errorf(`devices[%d]: key "host_path" is required`, i)
		}
		if !cgroupPermissions.MatchString(d.CgroupPermissions) {
			return fmt.Errorf(`devices[%d]: cgroup_permissions %q: want a combination of r, w, m`, i, d.CgroupPermissions)
		}
	}
	for label, v := range c.PortMap {
		if n, err := strconv.Atoi(v); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf(`port_map %q: %q is not a port number`, label, v)
		}
	}
	for key, ip := range map[string]string{"ipv4_address": c.IPv4Address, "ipv6_address": c.IPv6Address} {
		if ip != "" && net.ParseIP(ip) == nil {
			return fmt.Errorf(`key %q: %q is not an IP address`, key, ip)
		}
	}
	if c.MacAddress != "" {
		if _, err := net.ParseMAC(c.MacAddress); err != nil {
			return fmt.Errorf(`key "mac_address": %w`, err)
		}
	}
	if l := c.Logging; l.Type != "" && l.Driver != "" && l.Type != l.Driver {
		return fmt.Errorf(`logging: "type" %q and "driver" %q disagree; set one`, l.Type, l.Driver)
	}
	return nil
}

// applyOptions maps the less common task config keys onto the container.
// It returns the keys that do not apply on this platform, to be reported.
func applyOptions(spec *containerSpec, tc *TaskConfig, plugin PluginConfig) (ignored []string, err error) {
	cfg, host := spec.config, spec.host
	if tc.Runtime != "" && !slices.Contains(plugin.AllowRuntimes, tc.Runtime) {
		return nil, fmt.Errorf("runtime %q is not in the docker plugin's allow_runtimes %q", tc.Runtime, plugin.AllowRuntimes)
	}
	if tc.VolumeDriver != "" && !plugin.Volumes.Enabled {
		return nil, fmt.Errorf("volume_driver: volumes are not enabled; set volumes { enabled = true } in the docker plugin's config")
	}
	host.Runtime = tc.Runtime
	host.VolumeDriver = tc.VolumeDriver
	host.CgroupnsMode = container.CgroupnsMode(tc.CgroupNS)
	host.GroupAdd = tc.GroupAdd
	host.OomScoreAdj = int(tc.OOMScoreAdj)
	host.StorageOpt = tc.StorageOpt
	host.UsernsMode = container.UsernsMode(tc.UsernsMode)
	if tc.Healthchecks.Disable {
		cfg.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
	}
	for _, d := range tc.Devices {
		host.Resources.Devices = append(host.Resources.Devices, deviceMapping(d))
	}
	spec.network = endpointConfig(tc)
	spec.existsAttempts = max(int(tc.ContainerExistsAttempts), 1)
	if tc.AdvertiseIPv6Address {
		ignored = append(ignored, "advertise_ipv6_address (no service address advertising by this driver)")
	}
	if tc.Isolation != "" {
		ignored = append(ignored, "isolation (Windows containers only)")
	}
	return ignored, nil
}

// logConfig is the container's log driver: json-file by default, which
// keeps a bounded copy of the output that the driver copies into the
// alloc's rotated files; it must hold a burst of output while the copier
// catches up, or lines are lost to its rotation. A `logging` block picks
// another driver (the engine still serves its output to the copier).
func logConfig(l LoggingConfig) container.LogConfig {
	typ := l.Type
	if typ == "" {
		typ = l.Driver
	}
	if typ != "" && typ != "json-file" {
		return container.LogConfig{Type: typ, Config: l.Config}
	}
	cfg := map[string]string{"max-file": "3", "max-size": "10m"}
	maps.Copy(cfg, l.Config)
	return container.LogConfig{Type: "json-file", Config: cfg}
}

func deviceMapping(d DeviceConfig) container.DeviceMapping {
	m := container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: d.ContainerPath, CgroupPermissions: d.CgroupPermissions}
	if m.PathInContainer == "" {
		m.PathInContainer = d.HostPath
	}
	if m.CgroupPermissions == "" {
		m.CgroupPermissions = "rwm"
	}
	return m
}

// endpointConfig sets the container's aliases, addresses and MAC on the
// network its network_mode names; nil when the task sets none of them.
func endpointConfig(tc *TaskConfig) *network.NetworkingConfig {
	if len(tc.NetworkAliases) == 0 && tc.IPv4Address == "" && tc.IPv6Address == "" && tc.MacAddress == "" {
		return nil
	}
	name := tc.NetworkMode
	if name == "" || name == "default" {
		name = network.NetworkBridge
	}
	ep := &network.EndpointSettings{Aliases: tc.NetworkAliases, MacAddress: tc.MacAddress}
	if tc.IPv4Address != "" || tc.IPv6Address != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: tc.IPv4Address, IPv6Address: tc.IPv6Address}
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{name: ep}}
}

// cpuQuota is cpu_hard_limit's CFS quota: the task's MHz as a share of
// one core's clock, times the period.
func cpuQuota(cpuMHz, period int64) int64 {
	return max(cpuMHz*period/coreMHz(), 1000)
}

// coreMHz is one core's clock in MHz, read as the client's fingerprint
// reads it: cpufreq's maximum, else /proc/cpuinfo, else 1000.
var coreMHz = sync.OnceValue(func() int64 {
	if data, err := os.ReadFile("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"); err == nil {
		if khz, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil && khz >= 1000 {
			return khz / 1000
		}
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			key, val, ok := strings.Cut(s.Text(), ":")
			if ok && strings.TrimSpace(key) == "cpu MHz" {
				if mhz, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil && mhz >= 1 {
					return int64(mhz)
				}
			}
		}
	}
	return 1000
})
