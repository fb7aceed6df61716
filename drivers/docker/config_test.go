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
		{"unknown key", map[string]any{"image": "redis", "imgae": "redis"}, `unknown key "imgae"`},
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
