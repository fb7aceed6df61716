package docker

import (
	"context"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/roam-project/roam/drivers"
)

// Fingerprint reports whether the engine answers, its version and the
// plugin's capabilities, as node attributes "driver.docker.*". The first
// call also starts the dangling container reconciler.
func (d *Driver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	d.startReconciler()
	c, err := d.client()
	if err != nil {
		return &drivers.Fingerprint{HealthDescription: err.Error()}
	}
	info, err := c.Info(ctx)
	if err != nil {
		return &drivers.Fingerprint{HealthDescription: "Failed to connect to docker daemon: " + err.Error()}
	}
	cfg := d.config()
	attrs := map[string]string{
		"":        "1",
		"version": info.ServerVersion,
		"os_type": info.OSType,
	}
	if cfg.AllowPrivileged {
		attrs["privileged.enabled"] = "1"
	}
	if cfg.Volumes.Enabled {
		attrs["volumes.enabled"] = "1"
	}
	runtimes := make([]string, 0, len(info.Runtimes))
	for name := range info.Runtimes {
		runtimes = append(runtimes, name)
	}
	sort.Strings(runtimes)
	attrs["runtimes"] = strings.Join(runtimes, ",")
	if ip := bridgeIP(ctx, c); ip != "" {
		attrs["bridge_ip"] = ip
	}
	return &drivers.Fingerprint{
		Detected:          true,
		Healthy:           true,
		HealthDescription: "Healthy",
		Attributes:        attrs,
	}
}

// bridgeIP is the gateway address of Docker's default bridge network, or
// "" when there is none.
func bridgeIP(ctx context.Context, c *client.Client) string {
	n, err := c.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		return ""
	}
	for _, cfg := range n.IPAM.Config {
		if cfg.Gateway != "" {
			return cfg.Gateway
		}
	}
	return ""
}
