package agent

import (
	"os"
	"runtime"
	"time"

	"github.com/roam-project/roam/client/template"
	"github.com/roam-project/roam/internal/telemetry"
	"github.com/roam-project/roam/tlsutil"
)

// Config is a Roam agent's configuration (Nomad's agent config format).
// LoadConfigFile fills it from HCL or JSON files, ParseFlags from the
// command line; Merge layers one over another.
type Config struct {
	Name       string // node name; defaults to the hostname
	Region     string
	Datacenter string
	DataDir    string // empty in -dev: state lives in memory
	BindAddr   string
	LogLevel   string
	LogJSON    bool
	LogFile    string
	PluginDir  string // accepted for compatibility; Roam's drivers are built in

	Ports     Ports
	Addresses Addresses // bind addresses; NormalizeAddrs defaults them to BindAddr
	Advertise Addresses // advertised hosts; NormalizeAddrs fills them in

	Server  ServerConfig
	Client  ClientConfig
	Plugins map[string]*PluginConfig // plugin "NAME" blocks by name

	ACL ACLConfig
	UI  UIConfig
	// Keyrings are the `keyring` blocks (see KeyringConfig).
	Keyrings []KeyringConfig
	// TLS is the `tls` block: HTTPS and mutual TLS on the RPC port.
	TLS tlsutil.Config
	// Telemetry is the typed part of the `telemetry` block.
	Telemetry telemetry.Config

	LeaveOnInterrupt       bool
	LeaveOnTerminate       bool
	EnableSyslog           bool
	DisableUpdateCheck     bool
	EnableDebug            bool
	HTTPAPIResponseHeaders map[string]string

	// Extra keeps Nomad settings that Roam accepts but does not act on
	// (consul, vault, limits, autopilot, audit, ...), as generic values
	// keyed by their HCL name. For acl, ui, tls and telemetry it holds
	// the whole block, including the keys also kept typed above.
	Extra map[string]any

	DevMode bool     // set by -dev
	Files   []string // the configuration files loaded, in order
}

// Ports are the agent's listening ports.
type Ports struct {
	HTTP, RPC, Serf int
}

// Addresses are per-service network addresses: bind addresses in
// Config.Addresses, advertised ones in Config.Advertise.
type Addresses struct {
	HTTP, RPC, Serf string
}

// ServerConfig is the agent's `server` block.
type ServerConfig struct {
	Enabled         bool
	BootstrapExpect int
	NumSchedulers   int
	// EventBufferSize is how many Raft indexes of events the event stream
	// keeps.
	EventBufferSize   int
	EnabledSchedulers []string
	HeartbeatGrace    time.Duration
	MinHeartbeatTTL   time.Duration
	// FailoverHeartbeatTTL is how long a new leader waits to hear from
	// each node (failover_heartbeat_ttl).
	FailoverHeartbeatTTL time.Duration
	// RaftSnapshotThreshold, RaftSnapshotInterval and RaftTrailingLogs
	// tune Raft's snapshots; 0 keeps the server's defaults.
	RaftSnapshotThreshold int
	RaftSnapshotInterval  time.Duration
	RaftTrailingLogs      int
	EncryptKey            string // `encrypt`: the gossip encryption key
	// AuthoritativeRegion owns ACLs and namespaces; other regions
	// replicate them from it.
	AuthoritativeRegion   string
	RaftProtocol          int
	RaftMultiplier        int // scales Raft's timeouts: 1 (default) for a LAN, up to 10
	DataDir               string
	RejoinAfterLeave      bool
	NodeGCThreshold       time.Duration
	JobGCInterval         time.Duration
	JobGCThreshold        time.Duration
	EvalGCThreshold       time.Duration
	DeploymentGCThreshold time.Duration
	// JobMaxPriority, JobDefaultPriority, JobMaxCount and JobMaxSourceSize
	// (bytes) bound what a job may ask for; zero takes the server's
	// default (see server.JobLimits).
	JobMaxPriority     int
	JobDefaultPriority int
	JobMaxCount        int
	JobMaxSourceSize   int64
	// OIDCIssuer is the `iss` claim of workload identities and the issuer
	// /.well-known/openid-configuration describes; empty turns discovery
	// off, as in Nomad.
	OIDCIssuer string
	// RootKeyRotation is root_key_rotation_threshold: the age at which the
	// leader rotates the active root key (0: Nomad's 30 days).
	RootKeyRotation time.Duration
	// ACLTokenGCThreshold is acl_token_gc_threshold: how long an expired
	// ACL token is kept (0: Nomad's hour).
	ACLTokenGCThreshold time.Duration
	// ServerJoin also receives the deprecated server-level retry_join,
	// retry_interval, retry_max and start_join keys.
	ServerJoin *ServerJoin
	// Extra keeps accepted Nomad server settings that Roam does not use.
	Extra map[string]any
}

// ServerJoin is a `server_join` block: how an agent finds the servers.
type ServerJoin struct {
	RetryJoin     []string
	RetryInterval time.Duration
	RetryMax      int
	StartJoin     []string
}

// IngressConfig is the client's `ingress` block (Roam's own).
type IngressConfig struct {
	Enabled  bool
	HTTPPort int
	// HTTPSPort also serves HTTPS, with the certificates of the variables
	// under nomad/ingress/certs/ chosen by SNI and, for other hosts, the
	// one of CertFile and KeyFile (PEM) when given.
	HTTPSPort         int
	CertFile, KeyFile string
	// Token reads services, jobs and certificate variables when ACLs are
	// on.
	Token string
}

// ClientConfig is the agent's `client` block.
type ClientConfig struct {
	Enabled          bool
	Servers          []string
	ServerJoin       *ServerJoin
	NodeClass        string
	NodePool         string
	Meta             map[string]string
	Options          map[string]string
	NetworkInterface string
	// BridgeNetworkName and BridgeNetworkSubnet are the bridge of
	// bridge-mode allocations (default roam0, 172.26.64.0/20).
	BridgeNetworkName   string
	BridgeNetworkSubnet string
	// ClusterNetworkCIDR is `cluster_network { cidr }`: the node leases a
	// subnet of it through the servers, and allocations reach every node's.
	ClusterNetworkCIDR string
	// ClusterNetworkOverlay is `cluster_network { overlay }`: "wireguard"
	// (the default, encrypted) or "vxlan"; ClusterNetworkFallback the
	// overlay used when that one cannot start ("" is none: the node then
	// offers no bridge mode); ClusterNetworkWireGuardPort WireGuard's UDP
	// port (0 is 51820).
	ClusterNetworkOverlay       string
	ClusterNetworkFallback      string
	ClusterNetworkWireGuardPort int
	// Ingress is `ingress { enabled http_port https_port cert_file
	// key_file token }`: the built-in HTTP entry point to services tagged
	// ingress.host=... (the jobspec's service ingress block).
	Ingress               IngressConfig
	StateDir              string
	AllocDir              string
	CpuTotalCompute       int
	MemoryTotalMB         int
	NodeMaxAllocs         int
	Reserved              *Reserved
	MinDynamicPort        int
	MaxDynamicPort        int
	ChrootEnv             map[string]string
	HostVolume            map[string]HostVolume
	GCInterval            time.Duration
	GCDiskUsageThreshold  float64
	GCInodeUsageThreshold float64
	GCMaxAllocs           int
	GCParallelDestroys    int
	MaxKillTimeout        time.Duration
	NoHostUUID            bool
	DisableRemoteExec     bool
	// Template is the `template` block: function denylist, file sandbox,
	// blocking-query wait and wait bounds of tasks' templates.
	Template template.Settings
	// ServiceDNS is Roam's `service_dns` block: the embedded DNS server
	// answering for services.
	ServiceDNS ServiceDNS
	// Extra keeps accepted Nomad client settings that Roam does not use.
	Extra map[string]any
}

// ServiceDNS is the client's `service_dns` block (a Roam addition): where
// the embedded DNS server answers for `<service>.service.<namespace>.<domain>`
// names; off when Address is empty.
type ServiceDNS struct {
	Address string
	Domain  string
	// Token reads the catalogue when ACLs are on.
	Token string
}

// Reserved is the client's `reserved` block: resources held back from
// scheduling.
type Reserved struct {
	CPU           int    // MHz
	Cores         string // core list, such as "0-1"
	Memory        int    // MB
	Disk          int    // MB
	ReservedPorts string // port list, such as "22,80,8000-8100"
}

// HostVolume is a client `host_volume "NAME"` block.
type HostVolume struct {
	Path     string
	ReadOnly bool
}

// PluginConfig is a `plugin "NAME"` block. Config holds the plugin's
// `config` block as generic values: bool, string, int, float64, []any, and
// map[string]any for nested blocks.
type PluginConfig struct {
	Name   string
	Args   []string
	Config map[string]any
}

// ACLConfig is the typed part of the `acl` block. The TTLs bound how long
// a client-only agent caches tokens, policies and roles it resolved
// through the servers.
type ACLConfig struct {
	Enabled   bool
	TokenTTL  time.Duration
	PolicyTTL time.Duration
	RoleTTL   time.Duration
}

// UIConfig is the typed part of the `ui` block.
type UIConfig struct {
	Enabled bool
}

// DefaultConfig is the configuration an agent starts from before files and
// flags are applied, with Nomad's defaults.
func DefaultConfig() *Config {
	return &Config{
		Name:       defaultNodeName(),
		Region:     "global",
		Datacenter: "dc1",
		BindAddr:   "0.0.0.0",
		LogLevel:   "INFO",
		Ports:      Ports{HTTP: 4646, RPC: 4647, Serf: 4648},
		Server: ServerConfig{
			NumSchedulers:   runtime.NumCPU(),
			HeartbeatGrace:  10 * time.Second,
			MinHeartbeatTTL: 10 * time.Second,
			RaftProtocol:    3,
			ServerJoin:      &ServerJoin{RetryInterval: 30 * time.Second},
		},
		Client: ClientConfig{
			NodePool:              "default",
			MinDynamicPort:        20000,
			MaxDynamicPort:        32000,
			GCInterval:            time.Minute,
			GCDiskUsageThreshold:  80,
			GCInodeUsageThreshold: 70,
			GCMaxAllocs:           50,
			GCParallelDestroys:    2,
			MaxKillTimeout:        30 * time.Second,
		},
		UI:        UIConfig{Enabled: true},
		Telemetry: telemetry.Config{CollectionInterval: time.Second},
	}
}

// DevConfig is the configuration of `roam agent -dev`: one node that is
// both server and client, bound to loopback, keeping its state in memory
// (DataDir is empty), with the raw_exec driver enabled, and mock_driver,
// the test driver Nomad's development builds have.
func DevConfig() *Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1"
	c.LogLevel = "DEBUG"
	c.DevMode = true
	c.Server.Enabled = true
	c.Server.BootstrapExpect = 1
	c.Client.Enabled = true
	c.Plugins = map[string]*PluginConfig{
		"raw_exec":    {Name: "raw_exec", Config: map[string]any{"enabled": true}},
		"mock_driver": {Name: "mock_driver", Config: map[string]any{"enabled": true}},
	}
	return c
}

// defaultNodeName is the machine's hostname, or "localhost" when the
// hostname cannot be read.
func defaultNodeName() string {
	name, err := os.Hostname()
	if err != nil || name == "" {
		return "localhost"
	}
	return name
}
