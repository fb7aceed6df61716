package client

import (
	"context"
	"maps"
	"time"

	"github.com/hashicorp/nomad/api"
)

// driverCheckInterval is how often drivers are fingerprinted again, so that
// a driver turning healthy or unhealthy (a Docker daemon restarting)
// reaches the servers.
const driverCheckInterval = 30 * time.Second

// watchDrivers re-fingerprints the drivers and re-registers the node when
// any driver's health or attributes changed.
func (c *Client) watchDrivers(ctx context.Context) {
	for sleepCtx(ctx, driverCheckInterval) {
		node := c.Node()
		fresh := &api.Node{Attributes: maps.Clone(node.Attributes), Drivers: map[string]*api.DriverInfo{}}
		c.fingerprintDrivers(ctx, fresh)
		if driversEqual(node.Drivers, fresh.Drivers) {
			continue
		}
		c.logger.Info("driver health changed; updating node")
		c.mu.Lock()
		c.node.Drivers, c.node.Attributes = fresh.Drivers, fresh.Attributes
		c.mu.Unlock()
		if _, err := c.register(ctx); err != nil {
			return
		}
	}
}

func driversEqual(a, b map[string]*api.DriverInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for name, x := range a {
		y, ok := b[name]
		if !ok || x.Detected != y.Detected || x.Healthy != y.Healthy ||
			x.HealthDescription != y.HealthDescription || !maps.Equal(x.Attributes, y.Attributes) {
			return false
		}
	}
	return true
}
