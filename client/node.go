package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/fingerprint"
	"github.com/roam-project/roam/internal/version"
	"github.com/roam-project/roam/network"
	"github.com/roam-project/roam/structs"
)

// nodeIDFile holds the node's ID in the state dir, as Nomad's client-id.
const nodeIDFile = "client-id"

// loadNodeID reads the persisted node ID, creating one on first start.
func loadNodeID(stateDir string) (string, error) {
	path := filepath.Join(stateDir, nodeIDFile)
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) > 0 {
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node ID: %w", err)
	}
	id := newUUID()
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("persist node ID: %w", err)
	}
	return id, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// buildNode fingerprints the machine and the drivers into a node.
func (c *Client) buildNode(ctx context.Context) (*api.Node, error) {
	fp, err := fingerprint.Host(fingerprint.Config{NetworkInterface: c.cfg.NetworkInterface, AllocDir: c.cfg.AllocDir})
	if err != nil {
		return nil, err
	}
	cfg := c.cfg
	node := &api.Node{
		ID: c.nodeID, Name: cfg.NodeName, Datacenter: cfg.Datacenter, HTTPAddr: cfg.HTTPAddr, TLSEnabled: cfg.TLSEnabled,
		Attributes: fp.Attributes, NodeResources: fp.Resources, Meta: mergeNodeMeta(staticNodeMeta(cfg.Meta), c.dynamicMeta),
		NodeClass: cfg.NodeClass, NodePool: cfg.NodePool,
		SchedulingEligibility: structs.NodeSchedulingEligible, Status: structs.NodeStatusInit,
		StatusUpdatedAt: time.Now().Unix(), Drivers: map[string]*api.DriverInfo{},
		HostVolumes: map[string]*api.HostVolumeInfo{}, HostNetworks: map[string]*api.HostNetworkInfo{},
		ReservedResources: &api.NodeReservedResources{
			Cpu:      api.NodeReservedCpuResources{CpuShares: uint64(cfg.ReservedCPU)},
			Memory:   api.NodeReservedMemoryResources{MemoryMB: uint64(cfg.ReservedMemoryMB)},
			Disk:     api.NodeReservedDiskResources{DiskMB: uint64(cfg.ReservedDiskMB)},
			Networks: api.NodeReservedNetworkResources{ReservedHostPorts: cfg.ReservedPorts},
		},
	}
	if node.Name == "" {
		node.Name = fp.Attributes["unique.hostname"]
	}
	node.NodeResources.MinDynamicPort = cfg.MinDynamicPort
	node.NodeResources.MaxDynamicPort = cfg.MaxDynamicPort
	a := node.Attributes
	a["nomad.version"] = version.NomadCompatible
	a["nomad.revision"] = version.Revision()
	a["roam.version"] = version.Number
	a["unique.network.ip-address"] = fp.Attributes["unique.network.ip-address"]
	if cfg.HTTPAddr != "" {
		a["nomad.advertise.address"] = cfg.HTTPAddr
	}
	if cfg.ClusterNetworkCIDR != "" && c.overlay == nil && c.overlayErr == nil {
		c.overlay, c.overlayErr = c.startOverlay(a["unique.network.ip-address"])
		c.vxlanToo = c.startVXLANToo(a["unique.network.ip-address"])
	}
	caps := network.Fingerprint(c.overlay, c.overlayErr)
	for k, v := range caps.Attributes {
		a[k] = v
	}
	for attr, why := range caps.Missing {
		c.logger.Warn("network mode unavailable on this node: groups needing it are placed elsewhere",
			"attribute", attr, "reason", why)
	}
	c.fingerprintDrivers(ctx, node)
	node.NodeResources.Devices = c.devices.Fingerprint(ctx)
	for name, hv := range cfg.HostVolumes {
		if _, err := os.Stat(hv.Path); err != nil {
			return nil, fmt.Errorf("host_volume %q: path %q: %w", name, hv.Path, err)
		}
	}
	made, err := loadMadeVolumes(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("read host volume record: %w", err)
	}
	node.HostVolumes = nodeHostVolumes(cfg.HostVolumes, made)
	node.Resources, node.Reserved = legacyResources(node.NodeResources, node.ReservedResources)
	return node, nil
}

// legacyResources gives a node's capacity and reservation in the deprecated
// Resources form, which Nomad still sends and its CLI's node status
// dereferences to compute the allocatable totals.
func legacyResources(r *api.NodeResources, res *api.NodeReservedResources) (*api.Resources, *api.Resources) {
	total := &api.Resources{CPU: ptrTo(int(r.Cpu.CpuShares)), MemoryMB: ptrTo(int(r.Memory.MemoryMB)), DiskMB: ptrTo(int(r.Disk.DiskMB))}
	reserved := &api.Resources{CPU: ptrTo(int(res.Cpu.CpuShares)), MemoryMB: ptrTo(int(res.Memory.MemoryMB)), DiskMB: ptrTo(int(res.Disk.DiskMB))}
	return total, reserved
}

// ptrTo returns a pointer to a copy of v.
func ptrTo[T any](v T) *T { return &v }

// fingerprintDrivers records each driver's health and attributes.
func (c *Client) fingerprintDrivers(ctx context.Context, node *api.Node) {
	for key := range node.Attributes {
		if strings.HasPrefix(key, "driver.") {
			delete(node.Attributes, key)
		}
	}
	for name, d := range c.cfg.Drivers {
		fp := d.Fingerprint(ctx)
		info := &api.DriverInfo{
			Detected: fp.Detected, Healthy: fp.Healthy, HealthDescription: fp.HealthDescription,
			UpdateTime: time.Now().UTC(), Attributes: map[string]string{},
		}
		for k, v := range fp.Attributes {
			key := "driver." + name
			if k != "" {
				key += "." + k
			}
			info.Attributes[key] = v
			if fp.Detected {
				node.Attributes[key] = v
			}
		}
		node.Drivers[name] = info
	}
}
