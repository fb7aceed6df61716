package client

import (
	"context"
	"reflect"
	"time"
)

// deviceCheckInterval is how often the device plugins fingerprint again,
// so that a GPU turning unhealthy stops being handed out.
const deviceCheckInterval = 30 * time.Second

// watchDevices fingerprints the devices again and re-registers the node
// when an instance appeared, went or changed health.
func (c *Client) watchDevices(ctx context.Context) {
	for sleepCtx(ctx, deviceCheckInterval) {
		fresh := c.devices.Fingerprint(ctx)
		c.mu.Lock()
		same := reflect.DeepEqual(c.node.NodeResources.Devices, fresh)
		if !same {
			nr := *c.node.NodeResources
			nr.Devices = fresh
			c.node.NodeResources = &nr
		}
		c.mu.Unlock()
		if same {
			continue
		}
		c.logger.Info("device health changed; updating node")
		if _, err := c.register(ctx); err != nil {
			return
		}
	}
}
