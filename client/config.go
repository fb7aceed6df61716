package client

import (
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/roam-project/roam/client/template"
	"github.com/roam-project/roam/devices"
	"github.com/roam-project/roam/drivers"
)

// Config configures a client.
type Config struct {
	// NodeName defaults to the hostname. NodeID is generated on first start
	// and persisted in StateDir, so restarts keep it; a non-empty NodeID
	// here overrides it.
	NodeName, NodeID                        string
	Datacenter, Region, NodeClass, NodePool string
	Meta                                    map[string]string
	Options                                 map[string]string
	// StateDir holds the client's state file and node ID (data_dir/client).
	StateDir string
	// AllocDir holds the allocation directories (data_dir/alloc).
	AllocDir string
	// NetworkInterface is fingerprinted for the node's address; "" is the
	// interface of the default route.
	NetworkInterface string
	// BridgeNetworkName and BridgeNetworkSubnet are the bridge of
	// bridge-mode allocations; "" takes network.DefaultBridge and
	// network.DefaultSubnet.
	BridgeNetworkName, BridgeNetworkSubnet string
	// ClusterNetworkCIDR, when set, is the cluster network: the node
	// leases a /24 of it for its bridge and routes to the other nodes'
	// subnets over an overlay.
	ClusterNetworkCIDR string
	// ClusterOverlay is that overlay, network.OverlayWireGuard ("" too)
	// or network.OverlayVXLAN; ClusterOverlayFallback the one to use when
	// it cannot start ("": none, the node then offers no bridge mode).
	ClusterOverlay, ClusterOverlayFallback string
	// WireGuardPort is the WireGuard overlay's UDP port (0: 51820).
	WireGuardPort                  int
	MinDynamicPort, MaxDynamicPort int
	ReservedCPU, ReservedMemoryMB  int
	ReservedDiskMB                 int
	ReservedPorts                  string
	// HTTPAddr is the agent's advertised HTTP address (host:port).
	HTTPAddr string
	// TLSEnabled reports that the HTTP API is HTTPS, so that API clients
	// reaching the node directly (alloc logs and files) use https.
	TLSEnabled bool
	// Templates are the client's template block settings.
	Templates template.Settings
	// TaskAPI is the agent's HTTP API, served to each task on
	// secrets/api.sock (Nomad's Task API); nil serves none.
	TaskAPI http.Handler
	// Drivers is the driver set, already configured by the agent.
	Drivers map[string]drivers.Driver
	// DevicePlugins find the machine's devices (GPUs).
	DevicePlugins []devices.Plugin
	// HostVolumes are the client's `host_volume` blocks by name.
	HostVolumes map[string]HostVolume
	// HostVolumesDir holds the dynamic host volumes this client makes;
	// StateDir/../host_volumes when empty.
	HostVolumesDir string
	Logger         *slog.Logger
}

// HostVolume is a directory of the machine offered to jobs by name.
type HostVolume struct {
	Path     string
	ReadOnly bool
}

// Defaults of the dynamic port range, as Nomad's.
const (
	defaultMinDynamicPort = 20000
	defaultMaxDynamicPort = 32000
)

func (c *Config) validate() error {
	if c.StateDir == "" {
		return errors.New("client config: state_dir is required")
	}
	if c.AllocDir == "" {
		return errors.New("client config: alloc_dir is required")
	}
	if c.MinDynamicPort == 0 {
		c.MinDynamicPort = defaultMinDynamicPort
	}
	if c.MaxDynamicPort == 0 {
		c.MaxDynamicPort = defaultMaxDynamicPort
	}
	if c.MinDynamicPort > c.MaxDynamicPort {
		return errors.New("client config: min_dynamic_port must not exceed max_dynamic_port")
	}
	if c.Datacenter == "" {
		c.Datacenter = "dc1"
	}
	if c.Region == "" {
		c.Region = "global"
	}
	if c.NodePool == "" {
		c.NodePool = "default"
	}
	if c.HostVolumesDir == "" {
		c.HostVolumesDir = filepath.Join(filepath.Dir(c.StateDir), "host_volumes")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
