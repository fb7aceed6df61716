package docker

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/roam-project/roam/drivers"
)

func specTask(res drivers.Resources) *drivers.TaskConfig {
	return &drivers.TaskConfig{
		ID: "a1/web", AllocID: "a1", TaskName: "web", JobName: "example", GroupName: "cache",
		AllocDir: "/var/roam/a1", TaskDir: "/var/roam/a1/web",
		Env:       map[string]string{"FOO": "bar", "NOMAD_TASK_DIR": "/var/roam/a1/web/local"},
		Resources: res,
	}
}

func TestBuildContainerSpec(t *testing.T) {
	const mb = 1024 * 1024
	ports := []drivers.Port{
		{Label: "http", Value: 8080, To: 80, HostIP: "127.0.0.1"},
		{Label: "admin", Value: 23456},
	}
	cases := []struct {
		name    string
		res     drivers.Resources
		config  map[string]any
		plugin  func(*PluginConfig)
		wantErr string
		check   func(t *testing.T, s *containerSpec)
	}{
		{"memory without max", drivers.Resources{MemoryMB: 256, CPUShares: 500}, nil, nil, "", func(t *testing.T, s *containerSpec) {
			r := s.host.Resources
			if r.Memory != 256*mb || r.MemoryReservation != 0 || r.MemorySwap != r.Memory || r.CPUShares != 500 {
				t.Errorf("resources = %+v", r)
			}
		}},
		{"memory with max", drivers.Resources{MemoryMB: 16, MemoryMaxMB: 32}, nil, nil, "", func(t *testing.T, s *containerSpec) {
			if r := s.host.Resources; r.Memory != 32*mb || r.MemoryReservation != 16*mb {
				t.Errorf("resources = %+v", r)
			}
		}},
		{"memory_hard_limit", drivers.Resources{MemoryMB: 16}, map[string]any{"memory_hard_limit": 64}, nil, "", func(t *testing.T, s *containerSpec) {
			if r := s.host.Resources; r.Memory != 64*mb || r.MemoryReservation != 16*mb {
				t.Errorf("resources = %+v", r)
			}
		}},
		{"cores", drivers.Resources{ReservedCores: []uint16{3, 1}}, nil, nil, "", func(t *testing.T, s *containerSpec) {
			if got := s.host.Resources.CpusetCpus; got != "1,3" {
				t.Errorf("cpuset = %q", got)
			}
		}},
		{"ports static with to and dynamic", drivers.Resources{Ports: ports}, map[string]any{"ports": []any{"http", "admin"}}, nil, "", func(t *testing.T, s *containerSpec) {
			want := nat.PortMap{
				"80/tcp":    {{HostIP: "127.0.0.1", HostPort: "8080"}},
				"80/udp":    {{HostIP: "127.0.0.1", HostPort: "8080"}},
				"23456/tcp": {{HostPort: "23456"}},
				"23456/udp": {{HostPort: "23456"}},
			}
			if !reflect.DeepEqual(s.host.PortBindings, want) {
				t.Errorf("bindings = %v", s.host.PortBindings)
			}
			if _, ok := s.config.ExposedPorts["80/tcp"]; !ok {
				t.Errorf("exposed = %v", s.config.ExposedPorts)
			}
		}},
		{"unknown port label", drivers.Resources{Ports: ports}, map[string]any{"ports": []any{"db"}}, nil, `port "db" is not defined`, nil},
		{"command args entrypoint", drivers.Resources{}, map[string]any{"command": "/bin/app", "args": []any{"-v"}, "entrypoint": []any{"/init"}}, nil, "", func(t *testing.T, s *containerSpec) {
			if !reflect.DeepEqual([]string(s.config.Cmd), []string{"/bin/app", "-v"}) || s.config.Entrypoint[0] != "/init" {
				t.Errorf("cmd = %q entrypoint = %q", s.config.Cmd, s.config.Entrypoint)
			}
		}},
		{"dirs env labels", drivers.Resources{}, map[string]any{"labels": map[string]any{"team": "web"}}, nil, "", func(t *testing.T, s *containerSpec) {
			wantBinds := []string{"/var/roam/a1/alloc:/alloc", "/var/roam/a1/web/local:/local", "/var/roam/a1/web/secrets:/secrets"}
			if !reflect.DeepEqual(s.host.Binds, wantBinds) {
				t.Errorf("binds = %q", s.host.Binds)
			}
			for _, e := range []string{"FOO=bar", "NOMAD_TASK_DIR=/local", "NOMAD_ALLOC_DIR=/alloc"} {
				if !slices.Contains(s.config.Env, e) {
					t.Errorf("env %q missing from %q", e, s.config.Env)
				}
			}
			l := s.config.Labels
			if l[labelAllocID] != "a1" || l[labelJobName] != "example" || l[labelTaskName] != "web" || l[labelGroupName] != "cache" || l["team"] != "web" {
				t.Errorf("labels = %v", l)
			}
		}},
		{"relative volume allowed", drivers.Resources{}, map[string]any{"volumes": []any{"local/conf:/etc/app:ro"}}, nil, "", func(t *testing.T, s *containerSpec) {
			if got := s.host.Binds[3]; got != "/var/roam/a1/web/local/conf:/etc/app:ro" {
				t.Errorf("bind = %q", got)
			}
		}},
		{"absolute volume refused", drivers.Resources{}, map[string]any{"volumes": []any{"/etc:/host-etc"}}, nil, "volumes are not enabled", nil},
		{"absolute volume enabled", drivers.Resources{}, map[string]any{"volumes": []any{"/etc:/host-etc"}}, func(p *PluginConfig) { p.Volumes.Enabled = true }, "", nil},
		{"absolute bind mount refused", drivers.Resources{}, map[string]any{"mount": []any{map[string]any{"type": "bind", "source": "/etc", "target": "/x"}}}, nil, "volumes are not enabled", nil},
		{"privileged refused", drivers.Resources{}, map[string]any{"privileged": true}, nil, "allow_privileged", nil},
		{"privileged allowed", drivers.Resources{}, map[string]any{"privileged": true}, func(p *PluginConfig) { p.AllowPrivileged = true }, "", nil},
		{"cap_add refused", drivers.Resources{}, map[string]any{"cap_add": []any{"SYS_ADMIN"}}, nil, "not in the docker plugin's allow_caps", nil},
		{"cap_add allowed and net_raw dropped", drivers.Resources{}, map[string]any{"cap_add": []any{"CAP_CHOWN"}}, nil, "", func(t *testing.T, s *containerSpec) {
			if !slices.Contains(s.host.CapAdd, "chown") || !slices.Contains(s.host.CapDrop, "net_raw") {
				t.Errorf("cap_add = %q cap_drop = %q", s.host.CapAdd, s.host.CapDrop)
			}
		}},
		{"cpu hard limit", drivers.Resources{CPUShares: 500}, map[string]any{"cpu_hard_limit": true, "cpu_cfs_period": 50000}, nil, "", func(t *testing.T, s *containerSpec) {
			r := s.host.Resources
			if r.CPUPeriod != 50000 || r.CPUQuota != max(500*50000/coreMHz(), 1000) || r.CPUShares != 500 {
				t.Errorf("period = %d quota = %d shares = %d (core %d MHz)", r.CPUPeriod, r.CPUQuota, r.CPUShares, coreMHz())
			}
		}},
		{"cpuset_cpus and cores", drivers.Resources{ReservedCores: []uint16{2}}, map[string]any{"cpuset_cpus": "0-1"}, nil, "", func(t *testing.T, s *containerSpec) {
			if got := s.host.Resources.CpusetCpus; got != "2" {
				t.Errorf("cpuset = %q, want the reserved core", got)
			}
		}},
		{"host options", drivers.Resources{}, map[string]any{
			"group_add": []any{"audio"}, "oom_score_adj": 300, "cgroupns": "private", "userns_mode": "host",
			"storage_opt": map[string]any{"size": "1G"}, "runtime": "runc",
			"devices": []any{map[string]any{"host_path": "/dev/fuse"}},
		}, nil, "", func(t *testing.T, s *containerSpec) {
			h := s.host
			if !slices.Equal(h.GroupAdd, []string{"audio"}) || h.OomScoreAdj != 300 || h.CgroupnsMode != "private" ||
				h.UsernsMode != "host" || h.StorageOpt["size"] != "1G" || h.Runtime != "runc" {
				t.Errorf("host config = %+v", h)
			}
			want := []container.DeviceMapping{{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"}}
			if !reflect.DeepEqual(h.Resources.Devices, want) {
				t.Errorf("devices = %+v", h.Resources.Devices)
			}
		}},
		{"runtime not allowed", drivers.Resources{}, map[string]any{"runtime": "kata"}, nil, "allow_runtimes", nil},
		{"volume_driver needs volumes", drivers.Resources{}, map[string]any{"volume_driver": "nfs"}, nil, "volumes are not enabled", nil},
		{"healthchecks and logging", drivers.Resources{}, map[string]any{
			"healthchecks": map[string]any{"disable": true}, "logging": map[string]any{"driver": "local", "config": map[string]any{"max-size": "1m"}},
		}, nil, "", func(t *testing.T, s *containerSpec) {
			if hc := s.config.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"NONE"}) {
				t.Errorf("healthcheck = %+v", hc)
			}
			if lc := s.host.LogConfig; lc.Type != "local" || lc.Config["max-size"] != "1m" {
				t.Errorf("log config = %+v", lc)
			}
		}},
		{"json-file logging keeps bounds", drivers.Resources{}, map[string]any{"logging": map[string]any{"config": map[string]any{"max-size": "5m"}}}, nil, "", func(t *testing.T, s *containerSpec) {
			if lc := s.host.LogConfig; lc.Type != "json-file" || lc.Config["max-size"] != "5m" || lc.Config["max-file"] != "3" {
				t.Errorf("log config = %+v", lc)
			}
		}},
		{"network endpoint", drivers.Resources{}, map[string]any{
			"network_mode": "appnet", "network_aliases": []any{"web"}, "ipv4_address": "172.30.0.9", "mac_address": "02:42:ac:11:00:09",
		}, nil, "", func(t *testing.T, s *containerSpec) {
			ep := s.network.EndpointsConfig["appnet"]
			if ep == nil || !slices.Equal(ep.Aliases, []string{"web"}) || ep.IPAMConfig.IPv4Address != "172.30.0.9" || ep.MacAddress != "02:42:ac:11:00:09" {
				t.Errorf("endpoints = %+v", s.network)
			}
		}},
		{"port_map", drivers.Resources{Ports: ports}, map[string]any{"port_map": map[string]any{"http": 8081}}, nil, "", func(t *testing.T, s *containerSpec) {
			if got := s.host.PortBindings["8081/tcp"]; len(got) != 1 || got[0].HostPort != "8080" {
				t.Errorf("bindings = %v", s.host.PortBindings)
			}
		}},
		{"ignored keys reported", drivers.Resources{}, map[string]any{"isolation": "hyperv", "advertise_ipv6_address": true}, nil, "", func(t *testing.T, s *containerSpec) {
			if len(s.ignored) != 2 || !strings.HasPrefix(s.ignored[0], "advertise_ipv6_address") {
				t.Errorf("ignored = %q", s.ignored)
			}
		}},
		{"container_exists_attempts", drivers.Resources{}, map[string]any{"container_exists_attempts": 2}, nil, "", func(t *testing.T, s *containerSpec) {
			if s.existsAttempts != 2 {
				t.Errorf("attempts = %d", s.existsAttempts)
			}
		}},
		{"allow_caps all", drivers.Resources{}, map[string]any{"cap_add": []any{"sys_admin"}}, func(p *PluginConfig) { p.AllowCaps = []string{"all"} }, "", func(t *testing.T, s *containerSpec) {
			if len(s.host.CapDrop) != 0 {
				t.Errorf("cap_drop = %q", s.host.CapDrop)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]any{"image": "app"}
			for k, v := range tc.config {
				raw[k] = v
			}
			cfg, err := parseTaskConfig(raw)
			if err != nil {
				t.Fatal(err)
			}
			plugin := defaultPluginConfig()
			if tc.plugin != nil {
				tc.plugin(&plugin)
			}
			spec, err := buildContainerSpec(specTask(tc.res), cfg, plugin)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, spec)
			}
		})
	}
}
