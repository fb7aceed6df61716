package agent

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// fileServer is the `server` block as written.
type fileServer struct {
	Enabled               bool            `hcl:"enabled,optional"`
	BootstrapExpect       int             `hcl:"bootstrap_expect,optional"`
	NumSchedulers         int             `hcl:"num_schedulers,optional"`
	EnabledSchedulers     []string        `hcl:"enabled_schedulers,optional"`
	HeartbeatGrace        hcl.Expression  `hcl:"heartbeat_grace,optional"`
	MinHeartbeatTTL       hcl.Expression  `hcl:"min_heartbeat_ttl,optional"`
	FailoverHeartbeatTTL  hcl.Expression  `hcl:"failover_heartbeat_ttl,optional"`
	RaftSnapshotThreshold int             `hcl:"raft_snapshot_threshold,optional"`
	RaftSnapshotInterval  hcl.Expression  `hcl:"raft_snapshot_interval,optional"`
	RaftTrailingLogs      int             `hcl:"raft_trailing_logs,optional"`
	Encrypt               string          `hcl:"encrypt,optional"`
	AuthoritativeRegion   string          `hcl:"authoritative_region,optional"`
	RaftProtocol          int             `hcl:"raft_protocol,optional"`
	RaftMultiplier        int             `hcl:"raft_multiplier,optional"`
	DataDir               string          `hcl:"data_dir,optional"`
	RejoinAfterLeave      bool            `hcl:"rejoin_after_leave,optional"`
	NodeGCThreshold       hcl.Expression  `hcl:"node_gc_threshold,optional"`
	JobGCInterval         hcl.Expression  `hcl:"job_gc_interval,optional"`
	JobGCThreshold        hcl.Expression  `hcl:"job_gc_threshold,optional"`
	EvalGCThreshold       hcl.Expression  `hcl:"eval_gc_threshold,optional"`
	DeploymentGCThreshold hcl.Expression  `hcl:"deployment_gc_threshold,optional"`
	RetryJoin             []string        `hcl:"retry_join,optional"`
	RetryInterval         hcl.Expression  `hcl:"retry_interval,optional"`
	RetryMax              int             `hcl:"retry_max,optional"`
	StartJoin             []string        `hcl:"start_join,optional"`
	ServerJoin            *fileServerJoin `hcl:"server_join,block"`
	JobMaxPriority        int             `hcl:"job_max_priority,optional"`
	JobDefaultPriority    int             `hcl:"job_default_priority,optional"`
	JobMaxCount           int             `hcl:"job_max_count,optional"`
	EventBufferSize       int             `hcl:"event_buffer_size,optional"`
	JobMaxSourceSize      string          `hcl:"job_max_source_size,optional"`
	OIDCIssuer            string          `hcl:"oidc_issuer,optional"`
	RootKeyRotation       hcl.Expression  `hcl:"root_key_rotation_threshold,optional"`
	ACLTokenGCThreshold   hcl.Expression  `hcl:"acl_token_gc_threshold,optional"`
	Rest                  hcl.Body        `hcl:",remain"`
}

// serverRest lists the server settings Roam accepts without acting on them.
var serverRest = restSchema{
	attrs: []string{"enable_event_broker",
		"batch_eval_gc_threshold", "csi_volume_claim_gc_interval", "csi_volume_claim_gc_threshold",
		"csi_plugin_gc_threshold", "root_key_gc_interval",
		"root_key_gc_threshold",
		"max_heartbeats_per_second", "non_voting_server", "license_path",
		"redundancy_zone", "upgrade_version", "deployment_query_rate_limit",
		"job_tracked_versions", "protocol_version", "heartbeat_grace_period"},
	blocks: []hcl.BlockHeaderSchema{{Type: "plan_rejection_tracker"}, {Type: "raft_boltdb"},
		{Type: "search"}, {Type: "default_scheduler_config"}, {Type: "client_introduction"}},
}

// fileServerJoin is a `server_join` block as written.
type fileServerJoin struct {
	RetryJoin     []string       `hcl:"retry_join,optional"`
	RetryInterval hcl.Expression `hcl:"retry_interval,optional"`
	RetryMax      int            `hcl:"retry_max,optional"`
	StartJoin     []string       `hcl:"start_join,optional"`
}

// config converts the server block.
func (s *fileServer) config() (ServerConfig, hcl.Diagnostics) {
	var dp durationParser
	c := ServerConfig{
		Enabled: s.Enabled, BootstrapExpect: s.BootstrapExpect, NumSchedulers: s.NumSchedulers,
		EnabledSchedulers: s.EnabledSchedulers, EncryptKey: s.Encrypt,
		AuthoritativeRegion: s.AuthoritativeRegion,
		RaftProtocol:        s.RaftProtocol, RaftMultiplier: s.RaftMultiplier, DataDir: s.DataDir, RejoinAfterLeave: s.RejoinAfterLeave,
		HeartbeatGrace:        dp.parse(s.HeartbeatGrace),
		MinHeartbeatTTL:       dp.parse(s.MinHeartbeatTTL),
		FailoverHeartbeatTTL:  dp.parse(s.FailoverHeartbeatTTL),
		RaftSnapshotThreshold: s.RaftSnapshotThreshold,
		RaftSnapshotInterval:  dp.parse(s.RaftSnapshotInterval),
		RaftTrailingLogs:      s.RaftTrailingLogs,
		NodeGCThreshold:       dp.parse(s.NodeGCThreshold),
		JobGCInterval:         dp.parse(s.JobGCInterval),
		JobGCThreshold:        dp.parse(s.JobGCThreshold),
		EvalGCThreshold:       dp.parse(s.EvalGCThreshold),
		DeploymentGCThreshold: dp.parse(s.DeploymentGCThreshold),
		JobMaxPriority:        s.JobMaxPriority,
		JobDefaultPriority:    s.JobDefaultPriority,
		JobMaxCount:           s.JobMaxCount,
		EventBufferSize:       s.EventBufferSize,
		OIDCIssuer:            s.OIDCIssuer,
		RootKeyRotation:       dp.parse(s.RootKeyRotation),
		ACLTokenGCThreshold:   dp.parse(s.ACLTokenGCThreshold),
	}
	var diags hcl.Diagnostics
	if s.JobMaxSourceSize != "" {
		size, err := parseByteSize(s.JobMaxSourceSize)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid job_max_source_size",
				Detail: fmt.Sprintf("%q is not a size: %v; write a number with a unit, such as \"1M\" or \"512KiB\".", s.JobMaxSourceSize, err)})
		}
		c.JobMaxSourceSize = size
	}
	for _, n := range []struct {
		name  string
		value int
	}{{"raft_snapshot_threshold", s.RaftSnapshotThreshold}, {"raft_trailing_logs", s.RaftTrailingLogs}} {
		if n.value < 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + n.name,
				Detail: fmt.Sprintf("%s is %d; it counts Raft log entries and cannot be negative.", n.name, n.value)})
		}
	}
	legacy := &fileServerJoin{RetryJoin: s.RetryJoin, RetryInterval: s.RetryInterval,
		RetryMax: s.RetryMax, StartJoin: s.StartJoin}
	c.ServerJoin = mergeServerJoin(legacy.config(&dp), s.ServerJoin.config(&dp))
	rest, d := decodeRest(s.Rest, serverRest)
	c.Extra = rest.extra
	return c, append(append(dp.diags, diags...), d...)
}

// config converts a server_join block; nil when the block is absent or
// sets nothing.
func (j *fileServerJoin) config(dp *durationParser) *ServerJoin {
	if j == nil {
		return nil
	}
	sj := &ServerJoin{RetryJoin: j.RetryJoin, RetryInterval: dp.parse(j.RetryInterval),
		RetryMax: j.RetryMax, StartJoin: j.StartJoin}
	if sj.RetryJoin == nil && sj.RetryInterval == 0 && sj.RetryMax == 0 && sj.StartJoin == nil {
		return nil
	}
	return sj
}

// fileClient is the `client` block as written.
type fileClient struct {
	Enabled               bool                `hcl:"enabled,optional"`
	Servers               []string            `hcl:"servers,optional"`
	ServerJoin            *fileServerJoin     `hcl:"server_join,block"`
	NodeClass             string              `hcl:"node_class,optional"`
	NodePool              string              `hcl:"node_pool,optional"`
	NetworkInterface      string              `hcl:"network_interface,optional"`
	BridgeNetworkName     string              `hcl:"bridge_network_name,optional"`
	BridgeNetworkSubnet   string              `hcl:"bridge_network_subnet,optional"`
	ClusterNetwork        *fileClusterNet     `hcl:"cluster_network,block"`
	Ingress               *fileIngress        `hcl:"ingress,block"`
	StateDir              string              `hcl:"state_dir,optional"`
	AllocDir              string              `hcl:"alloc_dir,optional"`
	CpuTotalCompute       int                 `hcl:"cpu_total_compute,optional"`
	MemoryTotalMB         int                 `hcl:"memory_total_mb,optional"`
	NodeMaxAllocs         int                 `hcl:"node_max_allocs,optional"`
	Reserved              *fileReserved       `hcl:"reserved,block"`
	MinDynamicPort        int                 `hcl:"min_dynamic_port,optional"`
	MaxDynamicPort        int                 `hcl:"max_dynamic_port,optional"`
	HostVolumes           []fileHostVolume    `hcl:"host_volume,block"`
	GCInterval            hcl.Expression      `hcl:"gc_interval,optional"`
	GCDiskUsageThreshold  float64             `hcl:"gc_disk_usage_threshold,optional"`
	GCInodeUsageThreshold float64             `hcl:"gc_inode_usage_threshold,optional"`
	GCMaxAllocs           int                 `hcl:"gc_max_allocs,optional"`
	GCParallelDestroys    int                 `hcl:"gc_parallel_destroys,optional"`
	MaxKillTimeout        hcl.Expression      `hcl:"max_kill_timeout,optional"`
	NoHostUUID            bool                `hcl:"no_host_uuid,optional"`
	DisableRemoteExec     bool                `hcl:"disable_remote_exec,optional"`
	Template              *fileClientTemplate `hcl:"template,block"`
	ServiceDNS            *fileServiceDNS     `hcl:"service_dns,block"`
	Rest                  hcl.Body            `hcl:",remain"`
}

// clientRest lists the client settings Roam accepts without acting on
// them, and its string maps.
var clientRest = restSchema{
	maps: []string{"meta", "options", "chroot_env"},
	attrs: []string{"alloc_mounts_dir", "host_volumes_dir", "common_plugin_dir",
		"network_speed", "cpu_disable_dmidecode", "disk_total_mb", "disk_free_mb",
		"cni_path", "cni_config_dir", "bridge_network_subnet_ipv6", "bridge_network_hairpin_mode", "cgroup_parent",
		"preferred_address_family", "gc_volumes_on_node_gc", "nomad_service_discovery"},
	blocks: []hcl.BlockHeaderSchema{{Type: "host_network", LabelNames: []string{"name"}},
		{Type: "artifact"}, {Type: "drain_on_shutdown"}, {Type: "users"},
		{Type: "fingerprint"}},
}

// fileClusterNet is the client's `cluster_network` block (Roam's own).
type fileClusterNet struct {
	CIDR          string         `hcl:"cidr"`
	Overlay       hcl.Expression `hcl:"overlay,optional"`
	Fallback      hcl.Expression `hcl:"fallback,optional"`
	WireGuardPort int            `hcl:"wireguard_port,optional"`
}

// overlayName reads the overlay setting named what: "", "wireguard" or
// "vxlan" (none when allowNone is false).
func overlayName(what string, expr hcl.Expression, allowNone bool) (string, hcl.Diagnostics) {
	if expr == nil {
		return "", nil
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || v.IsNull() {
		return "", diags
	}
	if v.Type() == cty.String {
		switch name := v.AsString(); name {
		case "wireguard", "vxlan":
			return name, nil
		case "none":
			if allowNone {
				return "", nil
			}
		}
	}
	want := `"wireguard" or "vxlan"`
	if allowNone {
		want = `"vxlan", "wireguard" or "none"`
	}
	return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid cluster_network " + what,
		Detail: "The " + what + " of the cluster network must be " + want + ".", Subject: expr.Range().Ptr()}}
}

// fileIngress is the client's `ingress` block (Roam's own).
type fileIngress struct {
	Enabled   bool   `hcl:"enabled,optional"`
	HTTPPort  int    `hcl:"http_port,optional"`
	HTTPSPort int    `hcl:"https_port,optional"`
	CertFile  string `hcl:"cert_file,optional"`
	KeyFile   string `hcl:"key_file,optional"`
	Token     string `hcl:"token,optional"`
}

// fileReserved is the client's `reserved` block as written.
type fileReserved struct {
	CPU           int    `hcl:"cpu,optional"`
	Cores         string `hcl:"cores,optional"`
	Memory        int    `hcl:"memory,optional"`
	Disk          int    `hcl:"disk,optional"`
	ReservedPorts string `hcl:"reserved_ports,optional"`
}

// fileServiceDNS is the client's `service_dns` block as written.
type fileServiceDNS struct {
	Address string `hcl:"address,optional"`
	Domain  string `hcl:"domain,optional"`
	Token   string `hcl:"token,optional"`
}

// fileHostVolume is a client `host_volume "NAME"` block as written.
type fileHostVolume struct {
	Name     string `hcl:"name,label"`
	Path     string `hcl:"path"`
	ReadOnly bool   `hcl:"read_only,optional"`
}

// config converts the client block.
func (f *fileClient) config() (ClientConfig, hcl.Diagnostics) {
	var dp durationParser
	c := ClientConfig{
		Enabled: f.Enabled, Servers: f.Servers, NodeClass: f.NodeClass, NodePool: f.NodePool,
		NetworkInterface: f.NetworkInterface, StateDir: f.StateDir, AllocDir: f.AllocDir,
		CpuTotalCompute: f.CpuTotalCompute, MemoryTotalMB: f.MemoryTotalMB,
		NodeMaxAllocs: f.NodeMaxAllocs, MinDynamicPort: f.MinDynamicPort,
		MaxDynamicPort: f.MaxDynamicPort, GCDiskUsageThreshold: f.GCDiskUsageThreshold,
		GCInodeUsageThreshold: f.GCInodeUsageThreshold, GCMaxAllocs: f.GCMaxAllocs,
		GCParallelDestroys: f.GCParallelDestroys, NoHostUUID: f.NoHostUUID,
		DisableRemoteExec: f.DisableRemoteExec,
		BridgeNetworkName: f.BridgeNetworkName, BridgeNetworkSubnet: f.BridgeNetworkSubnet,
		ServerJoin:     f.ServerJoin.config(&dp),
		GCInterval:     dp.parse(f.GCInterval),
		MaxKillTimeout: dp.parse(f.MaxKillTimeout),
	}
	if f.Ingress != nil {
		c.Ingress = IngressConfig(*f.Ingress)
	}
	var netDiags hcl.Diagnostics
	if cn := f.ClusterNetwork; cn != nil {
		c.ClusterNetworkCIDR, c.ClusterNetworkWireGuardPort = cn.CIDR, cn.WireGuardPort
		var d hcl.Diagnostics
		c.ClusterNetworkOverlay, d = overlayName("overlay", cn.Overlay, false)
		netDiags = append(netDiags, d...)
		c.ClusterNetworkFallback, d = overlayName("fallback", cn.Fallback, true)
		netDiags = append(netDiags, d...)
		if cn.WireGuardPort < 0 || cn.WireGuardPort > 65535 {
			netDiags = append(netDiags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid cluster_network wireguard_port",
				Detail: fmt.Sprintf("wireguard_port %d is not a UDP port (1-65535).", cn.WireGuardPort)})
		}
	}
	if f.Reserved != nil {
		r := Reserved(*f.Reserved)
		c.Reserved = &r
	}
	for _, hv := range f.HostVolumes {
		if c.HostVolume == nil {
			c.HostVolume = make(map[string]HostVolume, len(f.HostVolumes))
		}
		c.HostVolume[hv.Name] = HostVolume{Path: hv.Path, ReadOnly: hv.ReadOnly}
	}
	tmpl, tdiags := f.Template.config(&dp)
	c.Template = tmpl
	if f.ServiceDNS != nil {
		c.ServiceDNS = ServiceDNS(*f.ServiceDNS)
	}
	rest, diags := decodeRest(f.Rest, clientRest)
	diags = append(append(diags, tdiags...), netDiags...)
	c.Meta = rest.maps["meta"]
	c.Options = rest.maps["options"]
	c.ChrootEnv = rest.maps["chroot_env"]
	c.Extra = rest.extra
	return c, append(dp.diags, diags...)
}

// parseByteSize reads a size such as "1M" (10^6 bytes), "512KiB" (2^19
// bytes) or "2048" (bytes), as Nomad's size settings are written.
func parseByteSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "B")
	base := 1000.0
	if strings.HasSuffix(t, "I") {
		base, t = 1024, strings.TrimSuffix(t, "I")
	}
	mult := 1.0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGTPE", t[n-1]); i >= 0 {
			mult, t = math.Pow(base, float64(i+1)), strings.TrimSpace(t[:n-1])
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(v * mult), nil
}
