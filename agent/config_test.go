package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roam-project/roam/internal/telemetry"
	"github.com/roam-project/roam/tlsutil"
)

// tutorialConfig is what testdata/server_tutorial.{hcl,json} hold.
func tutorialConfig(file string) *Config {
	return &Config{
		Name: "server-1", Datacenter: "dc1", DataDir: "/opt/nomad/data", BindAddr: "0.0.0.0",
		LogLevel:  "INFO",
		Advertise: Addresses{HTTP: "10.0.0.10", RPC: "10.0.0.10", Serf: "10.0.0.10:4648"},
		Ports:     Ports{HTTP: 4646},
		Server: ServerConfig{
			Enabled: true, BootstrapExpect: 3, HeartbeatGrace: 30 * time.Second,
			EncryptKey: "cg8StVXbQJ0gPvMd9o7yrg==",
			ServerJoin: &ServerJoin{RetryJoin: []string{"10.0.0.1"}, RetryInterval: 15 * time.Second},
		},
		Client: ClientConfig{Enabled: true, Servers: []string{"10.0.0.10:4647"}},
		Plugins: map[string]*PluginConfig{
			"raw_exec": {Name: "raw_exec", Config: map[string]any{"enabled": true}},
			"docker": {Name: "docker", Config: map[string]any{
				"allow_privileged": true,
				"volumes":          map[string]any{"enabled": true},
			}},
		},
		Files: []string{file},
	}
}

// productionConfig is what testdata/production.hcl holds.
func productionConfig() *Config {
	return &Config{
		Region: "eu", DataDir: "/var/lib/nomad", LogJSON: true, LogFile: "/var/log/nomad/",
		LeaveOnInterrupt: true, LeaveOnTerminate: true, EnableSyslog: true,
		DisableUpdateCheck: true, EnableDebug: true,
		HTTPAPIResponseHeaders: map[string]string{"Access-Control-Allow-Origin": "*"},
		ACL:                    ACLConfig{Enabled: true, TokenTTL: 30 * time.Second},
		UI:                     UIConfig{Enabled: true},
		Telemetry:              telemetry.Config{CollectionInterval: time.Second, PrometheusMetrics: true},
		TLS: tlsutil.Config{HTTP: true, RPC: true, CAFile: "/etc/nomad/ca.pem",
			CertFile: "/etc/nomad/cert.pem", KeyFile: "/etc/nomad/key.pem"},
		Extra: map[string]any{
			"syslog_facility": "LOCAL0",
			"acl":             map[string]any{"enabled": true, "token_ttl": "30s"},
			"ui":              map[string]any{"enabled": true, "label": map[string]any{"text": "prod"}},
			"tls": map[string]any{"http": true, "rpc": true, "ca_file": "/etc/nomad/ca.pem",
				"cert_file": "/etc/nomad/cert.pem", "key_file": "/etc/nomad/key.pem"},
			"telemetry": map[string]any{"collection_interval": "1s",
				"publish_allocation_metrics": true, "prometheus_metrics": true},
			"consul":    map[string]any{"address": "127.0.0.1:8500"},
			"vault":     map[string]any{"enabled": false},
			"limits":    map[string]any{"http_max_conns_per_client": 100},
			"autopilot": map[string]any{"cleanup_dead_servers": true},
			"audit":     map[string]any{"enabled": false},
		},
		Server: ServerConfig{
			Enabled: true, BootstrapExpect: 5, NumSchedulers: 4, RaftProtocol: 3,
			MinHeartbeatTTL: 20 * time.Second, JobGCThreshold: 4 * time.Hour,
			ServerJoin: &ServerJoin{RetryJoin: []string{"10.0.0.2", "10.0.0.3"}},
			Extra:      map[string]any{"redundancy_zone": "zone-a"},
		},
		Client: ClientConfig{
			Enabled: true, NodeClass: "batch", NodePool: "gpu", NetworkInterface: "eth1",
			CpuTotalCompute: 4000, MinDynamicPort: 21000, MaxDynamicPort: 22000,
			GCInterval: 5 * time.Minute, MaxKillTimeout: time.Minute,
			Meta:       map[string]string{"rack": "r1"},
			Options:    map[string]string{"driver.raw_exec.enable": "1"},
			ChrootEnv:  map[string]string{"/bin": "/bin"},
			Reserved:   &Reserved{CPU: 500, Memory: 512, Disk: 1024, ReservedPorts: "22,80"},
			HostVolume: map[string]HostVolume{"certs": {Path: "/etc/ssl/certs", ReadOnly: true}},
			Extra: map[string]any{
				"cni_path":     "/opt/cni/bin",
				"host_network": map[string]any{"public": map[string]any{"cidr": "203.0.113.0/24"}},
			},
		},
		Files: []string{"testdata/production.hcl"},
	}
}

func TestLoadConfigFile(t *testing.T) {
	tests := []struct {
		name string
		path string
		want *Config
	}{
		{
			name: "seed server that is also a client",
			path: "testdata/server.hcl",
			want: &Config{
				DataDir: "/opt/nomad/data", BindAddr: "0.0.0.0",
				Server: ServerConfig{Enabled: true, BootstrapExpect: 3},
				Client: ClientConfig{Enabled: true, Servers: []string{"127.0.0.1"}},
				Files:  []string{"testdata/server.hcl"},
			},
		},
		{
			name: "seed client",
			path: "testdata/client.hcl",
			want: &Config{
				DataDir: "/opt/nomad/data", BindAddr: "0.0.0.0",
				Client: ClientConfig{Enabled: true, Servers: []string{"10.0.0.10:4647"}},
				Files:  []string{"testdata/client.hcl"},
			},
		},
		{
			name: "cluster network over WireGuard with a VXLAN fallback",
			path: "testdata/cluster_network.hcl",
			want: &Config{
				Client: ClientConfig{Enabled: true, ClusterNetworkCIDR: "10.42.0.0/16", ClusterNetworkOverlay: "wireguard",
					ClusterNetworkFallback: "vxlan", ClusterNetworkWireGuardPort: 51821},
				Files: []string{"testdata/cluster_network.hcl"},
			},
		},
		{
			name: "workload identity settings",
			path: "testdata/identity.hcl",
			want: &Config{
				Server: ServerConfig{Enabled: true, OIDCIssuer: "https://nomad.example.com", RootKeyRotation: 720 * time.Hour, ACLTokenGCThreshold: 2 * time.Hour},
				Files:  []string{"testdata/identity.hcl"},
			},
		},
		{
			name: "failover heartbeat and Raft snapshot settings",
			path: "testdata/scale.hcl",
			want: &Config{
				Server: ServerConfig{Enabled: true, FailoverHeartbeatTTL: 2 * time.Minute,
					RaftSnapshotThreshold: 2048, RaftSnapshotInterval: 30 * time.Second, RaftTrailingLogs: 4096},
				Files: []string{"testdata/scale.hcl"},
			},
		},
		{
			name: "tutorial server in HCL",
			path: "testdata/server_tutorial.hcl",
			want: tutorialConfig("testdata/server_tutorial.hcl"),
		},
		{
			name: "tutorial server in JSON",
			path: "testdata/server_tutorial.json",
			want: tutorialConfig("testdata/server_tutorial.json"),
		},
		{
			name: "JSON told by its content: the Nomad API test harness's file, no extension",
			path: "testdata/nomad-api-harness",
			want: &Config{
				Name: "node-21000", DataDir: "/tmp/nomad123", DisableUpdateCheck: true, LogLevel: "ERROR",
				Ports:     Ports{HTTP: 21000, RPC: 21001, Serf: 21002},
				Server:    ServerConfig{Enabled: true, BootstrapExpect: 1},
				Client:    ClientConfig{Options: map[string]string{"test.tighten_network_timeouts": "true"}},
				ACL:       ACLConfig{Enabled: true},
				Telemetry: telemetry.Config{PrometheusMetrics: true},
				Extra: map[string]any{"vault": map[string]any{"enabled": false}, "acl": map[string]any{"enabled": true},
					"telemetry": map[string]any{"prometheus_metrics": true}},
				Files: []string{"testdata/nomad-api-harness"},
			},
		},
		{
			name: "production settings kept typed or in Extra",
			path: "testdata/production.hcl",
			want: productionConfig(),
		},
		{
			name: "directory merges *.hcl and *.json in lexical order",
			path: "testdata/confdir",
			want: &Config{
				DataDir: "/srv/roam", Datacenter: "dc-override",
				Client: ClientConfig{Enabled: true, Servers: []string{"10.0.0.2:4647"},
					Meta: map[string]string{"rack": "r1", "zone": "b"}},
				Files: []string{"testdata/confdir/10-base.hcl", "testdata/confdir/20-override.json"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadConfigFile(tc.path)
			if err != nil {
				t.Fatalf("LoadConfigFile(%q): %v", tc.path, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LoadConfigFile(%q) mismatch (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // written into a temporary directory
		content string
		want    []string // substrings of the error
	}{
		{
			name:    "unknown top-level argument names file and line",
			file:    "roam.hcl",
			content: "data_dir = \"/tmp\"\n\nbogus = 1\n",
			want:    []string{"roam.hcl:3,1", `Unsupported argument; An argument named "bogus" is not expected here.`},
		},
		{
			name:    "unknown argument in server block",
			file:    "roam.hcl",
			content: "server {\n  enabled = true\n  bogus   = 1\n}\n",
			want:    []string{"roam.hcl:3,3", `An argument named "bogus" is not expected here.`},
		},
		{
			name:    "unknown argument in client after its maps",
			file:    "roam.hcl",
			content: "client {\n  meta { a = \"b\" }\n  options = { c = \"d\" }\n  bogus = true\n}\n",
			want:    []string{"roam.hcl:4,3", `An argument named "bogus" is not expected here.`},
		},
		{
			name:    "negative raft_trailing_logs",
			file:    "roam.hcl",
			content: "server {\n  raft_trailing_logs = -1\n}\n",
			want:    []string{"Invalid raft_trailing_logs", "cannot be negative"},
		},
		{
			name:    "unknown block",
			file:    "roam.hcl",
			content: "bogus {\n  a = 1\n}\n",
			want:    []string{"roam.hcl:1,1", `Unsupported block type; Blocks of type "bogus" are not expected here.`},
		},
		{
			name:    "unknown key in a JSON file",
			file:    "roam.json",
			content: "{\n  \"server\": {\"enabled\": true, \"bogus\": 1}\n}\n",
			want:    []string{"roam.json:2,", `"bogus"`},
		},
		{
			name:    "bad duration",
			file:    "roam.hcl",
			content: "server {\n  heartbeat_grace = \"10 parsecs\"\n}\n",
			want:    []string{"roam.hcl:2,21", "Invalid duration", `"10 parsecs" is not a duration`},
		},
		{
			name:    "duration without a unit",
			file:    "roam.hcl",
			content: "client {\n  gc_interval = \"10\"\n}\n",
			want:    []string{"roam.hcl:2,17", "Invalid duration"},
		},
		{
			name:    "wrong value type",
			file:    "roam.hcl",
			content: "server {\n  bootstrap_expect = \"three\"\n}\n",
			want:    []string{"roam.hcl:2,23", "a number is required"},
		},
		{
			name:    "meta value that is not a string",
			file:    "roam.hcl",
			content: "client {\n  meta = { a = [1] }\n}\n",
			want:    []string{"roam.hcl:2,10", "A string value is required here."},
		},
		{
			name:    "plugin configured twice",
			file:    "roam.hcl",
			content: "plugin \"docker\" {}\nplugin \"docker\" {}\n",
			want:    []string{"Duplicate plugin block", `Plugin "docker"`},
		},
		{
			name:    "host volume without a path",
			file:    "roam.hcl",
			content: "client {\n  host_volume \"x\" {\n    read_only = true\n  }\n}\n",
			want:    []string{"roam.hcl:2,", `The argument "path" is required`},
		},
		{
			name:    "HCL 1 quoted key in a block gets a hint",
			file:    "roam.hcl",
			content: "client {\n  options {\n    \"driver.raw_exec.enable\" = \"1\"\n  }\n}\n",
			want:    []string{"roam.hcl:3,5", "Argument names must not be quoted.", `meta = { "a.b" = "c" }`},
		},
		{
			name:    "unknown cluster network overlay",
			file:    "roam.hcl",
			content: "client {\n  cluster_network {\n    cidr    = \"10.42.0.0/16\"\n    overlay = \"ipsec\"\n  }\n}\n",
			want:    []string{"roam.hcl:4,15", "Invalid cluster_network overlay", `"wireguard" or "vxlan"`},
		},
		{
			name:    "cluster network fallback that is no overlay",
			file:    "roam.hcl",
			content: "client {\n  cluster_network {\n    cidr     = \"10.42.0.0/16\"\n    fallback = \"plain\"\n  }\n}\n",
			want:    []string{"roam.hcl:4,16", "Invalid cluster_network fallback"},
		},
		{
			name:    "syntax error",
			file:    "roam.hcl",
			content: "server {\n  enabled = \n",
			want:    []string{"roam.hcl:2,"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfigFile(path)
			if err == nil {
				t.Fatalf("LoadConfigFile succeeded; want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigFileMissing(t *testing.T) {
	_, err := LoadConfigFile(filepath.Join(t.TempDir(), "absent.hcl"))
	if err == nil || !strings.Contains(err.Error(), "absent.hcl") {
		t.Fatalf("LoadConfigFile(absent) error = %v; want one naming the file", err)
	}
}

func TestMerge(t *testing.T) {
	base := &Config{
		Region: "global", Datacenter: "dc1", LogLevel: "INFO",
		Ports:   Ports{HTTP: 4646, RPC: 4647},
		Server:  ServerConfig{Enabled: true, HeartbeatGrace: 10 * time.Second, ServerJoin: &ServerJoin{RetryInterval: 30 * time.Second}},
		Client:  ClientConfig{Servers: []string{"a", "b"}, Meta: map[string]string{"rack": "r1", "zone": "a"}},
		Plugins: map[string]*PluginConfig{"docker": {Name: "docker", Config: map[string]any{"a": 1, "b": 2}}},
		Extra:   map[string]any{"tls": map[string]any{"http": true}},
		Files:   []string{"one.hcl"},
	}
	tests := []struct {
		name  string
		other *Config
		want  func(c *Config) // edits a copy of base into the expected result
	}{
		{
			name:  "empty settings keep the earlier values",
			other: &Config{},
			want:  func(c *Config) {},
		},
		{
			name:  "set strings, numbers and durations win",
			other: &Config{Region: "eu", Ports: Ports{RPC: 5647}, Server: ServerConfig{HeartbeatGrace: time.Minute}},
			want: func(c *Config) {
				c.Region, c.Ports.RPC, c.Server.HeartbeatGrace = "eu", 5647, time.Minute
			},
		},
		{
			name:  "booleans only turn on",
			other: &Config{Client: ClientConfig{Enabled: true}},
			want:  func(c *Config) { c.Client.Enabled = true },
		},
		{
			name:  "maps merge key by key",
			other: &Config{Client: ClientConfig{Meta: map[string]string{"zone": "b", "gpu": "yes"}}},
			want:  func(c *Config) { c.Client.Meta = map[string]string{"rack": "r1", "zone": "b", "gpu": "yes"} },
		},
		{
			name:  "lists are replaced",
			other: &Config{Client: ClientConfig{Servers: []string{"c"}}},
			want:  func(c *Config) { c.Client.Servers = []string{"c"} },
		},
		{
			name:  "pointed-to blocks merge field by field",
			other: &Config{Server: ServerConfig{ServerJoin: &ServerJoin{RetryJoin: []string{"x"}}}},
			want: func(c *Config) {
				c.Server.ServerJoin = &ServerJoin{RetryJoin: []string{"x"}, RetryInterval: 30 * time.Second}
			},
		},
		{
			name: "plugins are replaced whole by name",
			other: &Config{Plugins: map[string]*PluginConfig{
				"docker":   {Name: "docker", Config: map[string]any{"b": 3}},
				"raw_exec": {Name: "raw_exec"},
			}},
			want: func(c *Config) {
				c.Plugins = map[string]*PluginConfig{
					"docker":   {Name: "docker", Config: map[string]any{"b": 3}},
					"raw_exec": {Name: "raw_exec"},
				}
			},
		},
		{
			name:  "files are appended",
			other: &Config{Files: []string{"two.hcl"}},
			want:  func(c *Config) { c.Files = []string{"one.hcl", "two.hcl"} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := base.Merge(nil)
			tc.want(want)
			got := base.Merge(tc.other)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Merge mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeSharesNothing(t *testing.T) {
	base := DevConfig()
	got := base.Merge(&Config{Client: ClientConfig{Meta: map[string]string{"a": "b"}}})
	got.Plugins["raw_exec"].Config["enabled"] = false
	got.Server.ServerJoin.RetryMax = 9
	got.Client.Meta["a"] = "changed"
	if base.Plugins["raw_exec"].Config["enabled"] != true || base.Server.ServerJoin.RetryMax != 0 {
		t.Errorf("changing the merged config changed its input: %+v", base)
	}
}
