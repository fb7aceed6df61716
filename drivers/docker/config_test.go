package docker

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidateConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string // "" for valid
	}{
		{"minimal", map[string]any{"image": "redis:7"}, ""},
		{"json job file shapes", map[string]any{
			"image":      "redis",
			"ports":      []any{"db"},
			"args":       []any{"--port", float64(6379)},
			"labels":     []any{map[string]any{"team": "cache"}},
			"mount":      []any{map[string]any{"type": "tmpfs", "target": "/tmp", "tmpfs_options": []any{map[string]any{"size": float64(1024)}}}},
			"ulimit":     map[string]any{"nofile": "1024:2048"},
			"auth":       []any{map[string]any{"username": "u", "password": "p"}},
			"privileged": false,
		}, ""},
		{"every nomad key", allNomadKeys(), ""},
		{"unknown key", map[string]any{"image": "redis", "imgae": "redis"}, `unknown key "imgae"`},
		{"misspelled extra key", map[string]any{"image": "redis", "cpu_hard_limt": true}, `unknown key "cpu_hard_limt"`},
		{"unknown device key", map[string]any{"image": "redis", "devices": []any{map[string]any{"host_path": "/dev/null", "path": "x"}}}, `unknown key "devices[0].path"`},
		{"unknown logging key", map[string]any{"image": "redis", "logging": map[string]any{"typ": "syslog"}}, `unknown key "logging.typ"`},
		{"cfs period out of range", map[string]any{"image": "redis", "cpu_cfs_period": 10}, `cpu_cfs_period`},
		{"device without host path", map[string]any{"image": "redis", "devices": []any{map[string]any{"container_path": "/dev/x"}}}, `"host_path" is required`},
		{"bad cgroup permissions", map[string]any{"image": "redis", "devices": []any{map[string]any{"host_path": "/dev/null", "cgroup_permissions": "rx"}}}, `cgroup_permissions "rx"`},
		{"bad port_map", map[string]any{"image": "redis", "port_map": map[string]any{"http": "eighty"}}, `port_map "http"`},
		{"bad ip", map[string]any{"image": "redis", "ipv4_address": "10.0.0"}, `"ipv4_address"`},
		{"bad mac", map[string]any{"image": "redis", "mac_address": "zz"}, `"mac_address"`},
		{"bad cgroupns", map[string]any{"image": "redis", "cgroupns": "shared"}, `"cgroupns"`},
		{"oom_score_adj negative", map[string]any{"image": "redis", "oom_score_adj": -5}, `oom_score_adj`},
		{"logging type and driver disagree", map[string]any{"image": "redis", "logging": map[string]any{"type": "syslog", "driver": "json-file"}}, `disagree`},
		{"unknown nested key", map[string]any{"image": "redis", "mount": []any{map[string]any{"target": "/x", "sourc": "v"}}}, `unknown key "mount[0].sourc"`},
		{"mistyped list", map[string]any{"image": "redis", "ports": "http"}, `key "ports": want a list of strings`},
		{"mistyped bool", map[string]any{"image": "redis", "privileged": "maybe"}, `key "privileged": want a bool`},
		{"mistyped int", map[string]any{"image": "redis", "pids_limit": 1.5}, `key "pids_limit": want an integer`},
		{"bad duration", map[string]any{"image": "redis", "image_pull_timeout": "soon"}, `key "image_pull_timeout"`},
		{"missing image", map[string]any{"command": "/bin/sh"}, `key "image" is required`},
		{"bad mount type", map[string]any{"image": "redis", "mount": []any{map[string]any{"type": "nfs", "target": "/x"}}}, `"nfs" is not one of`},
		{"bad volume", map[string]any{"image": "redis", "volumes": []any{"/only-one-part"}}, `want host_path:container_path`},
		{"bad ulimit", map[string]any{"image": "redis", "ulimit": map[string]any{"nofile": "lots"}}, `ulimit "nofile"`},
	}
	d := New(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := d.ValidateConfig(tc.config)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseTaskConfigValues(t *testing.T) {
	cfg, err := parseTaskConfig(map[string]any{
		"image":              "redis",
		"args":               []any{"-a", float64(1)},
		"labels":             []any{map[string]any{"a": "b"}, map[string]any{"c": true}},
		"image_pull_timeout": "30s",
		"shm_size":           "1024",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Args, []string{"-a", "1"}) {
		t.Errorf("args = %q", cfg.Args)
	}
	if !reflect.DeepEqual(cfg.Labels, map[string]string{"a": "b", "c": "true"}) {
		t.Errorf("labels = %v", cfg.Labels)
	}
	if cfg.ImagePullTimeout != 30*time.Second || cfg.ShmSize != 1024 {
		t.Errorf("timeout = %s, shm = %d", cfg.ImagePullTimeout, cfg.ShmSize)
	}
}

func TestSetConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
		check   func(t *testing.T, c PluginConfig)
	}{
		{"defaults", nil, "", func(t *testing.T, c PluginConfig) {
			if c.AllowPrivileged || c.Volumes.Enabled || !c.GC.Image || !c.GC.Container ||
				c.GC.ImageDelay != 3*time.Minute || !c.GC.DanglingContainers.Enabled {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{"hcl block shapes", map[string]any{
			"allow_privileged": true,
			"allow_caps":       []any{"chown", "NET_ADMIN"},
			"volumes":          []any{map[string]any{"enabled": true}},
			"gc": []any{map[string]any{
				"image":               false,
				"dangling_containers": []any{map[string]any{"period": "10s", "dry_run": true}},
			}},
		}, "", func(t *testing.T, c PluginConfig) {
			if !c.AllowPrivileged || !c.Volumes.Enabled || c.GC.Image || !c.GC.Container {
				t.Errorf("config = %+v", c)
			}
			dc := c.GC.DanglingContainers
			if dc.Period != 10*time.Second || !dc.DryRun || !dc.Enabled || dc.CreationGrace != 5*time.Minute {
				t.Errorf("dangling_containers = %+v", dc)
			}
		}},
		{"unknown key", map[string]any{"allow_privilege": true}, `unknown key "allow_privilege"`, nil},
		{"unknown gc key", map[string]any{"gc": map[string]any{"images": true}}, `unknown key "gc.images"`, nil},
		{"unknown capability", map[string]any{"allow_caps": []any{"fly"}}, `unknown capability "fly"`, nil},
		{"zero period", map[string]any{"gc": map[string]any{"dangling_containers": map[string]any{"period": "0s"}}}, "period must be positive", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(nil)
			err := d.SetConfig(tc.config)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d.config())
		})
	}
}

func TestNormalizeImageRef(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"bare", "nope", "nope:latest"},
		{"tagged", "redis:7", "redis:7"},
		{"registry port", "localhost:5000/app", "localhost:5000/app:latest"},
		{"registry port tagged", "localhost:5000/app:v1", "localhost:5000/app:v1"},
		{"digest", "app@sha256:abc", "app@sha256:abc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := normalizeImageRef(tc.in); got != tc.want {
				t.Errorf("normalizeImageRef(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// allNomadKeys is a config setting every key of Nomad's docker task
// configuration, in the shapes a JSON job carries.
func allNomadKeys() map[string]any {
	return map[string]any{
		"image": "redis:7", "image_pull_timeout": "1m", "force_pull": false, "load": "redis.tar",
		"advertise_ipv6_address": false, "args": []any{"-v"}, "command": "/bin/app", "entrypoint": []any{"/init"},
		"auth":           []any{map[string]any{"username": "u", "password": "p", "email": "e", "server_address": "r"}},
		"auth_soft_fail": true, "cap_add": []any{"chown"}, "cap_drop": []any{"net_raw"}, "cgroupns": "private",
		"container_exists_attempts": float64(3), "cpu_hard_limit": true, "cpu_cfs_period": float64(50000), "cpuset_cpus": "0",
		"devices":            []any{map[string]any{"host_path": "/dev/null", "container_path": "/dev/n", "cgroup_permissions": "rw"}},
		"dns_search_domains": []any{"example.com"}, "dns_options": []any{"ndots:2"}, "dns_servers": []any{"1.1.1.1"},
		"extra_hosts": []any{"db:10.0.0.2"}, "group_add": []any{"audio"}, "healthchecks": []any{map[string]any{"disable": true}},
		"hostname": "web", "init": true, "interactive": true, "ipc_mode": "private",
		"ipv4_address": "172.20.0.5", "ipv6_address": "fd00::5", "isolation": "process",
		"labels":      []any{map[string]any{"team": "web"}},
		"logging":     []any{map[string]any{"type": "json-file", "config": []any{map[string]any{"max-file": "2"}}}},
		"mac_address": "02:42:ac:11:00:02", "memory_hard_limit": float64(512),
		"mount":           []any{map[string]any{"type": "volume", "target": "/data", "source": "vol", "readonly": true}},
		"network_aliases": []any{"web"}, "network_mode": "bridge", "oom_score_adj": float64(500),
		"pid_mode": "host", "pids_limit": float64(100), "port_map": []any{map[string]any{"http": float64(80)}},
		"ports": []any{"http"}, "privileged": false, "readonly_rootfs": true, "runtime": "runc",
		"security_opt": []any{"no-new-privileges"}, "shm_size": float64(1 << 20), "storage_opt": map[string]any{"size": "1G"},
		"sysctl": []any{map[string]any{"net.core.somaxconn": "16384"}}, "tty": true,
		"ulimit": []any{map[string]any{"nofile": "2048:4096"}}, "uts_mode": "host", "userns_mode": "host",
		"volumes": []any{"local/conf:/etc/app"}, "volume_driver": "local", "work_dir": "/app",
	}
}
