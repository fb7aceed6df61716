package client

import (
	"context"
	"reflect"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
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
		old := c.node.NodeResources.Devices
		same := reflect.DeepEqual(old, fresh)
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
		c.reportDeviceHealth(old, fresh)
		if _, err := c.register(ctx); err != nil {
			return
		}
	}
}

// reportDeviceHealth tells the allocations holding a device that turned
// unhealthy, so that its tasks' events say so; the scheduler no longer
// hands the device out once the node is registered again.
func (c *Client) reportDeviceHealth(old, fresh []*api.NodeDeviceResource) {
	wasHealthy := map[string]bool{}
	for _, g := range old {
		for _, inst := range g.Instances {
			wasHealthy[structs.DeviceKey(g.Vendor, g.Type, g.Name, inst.ID)] = inst.Healthy
		}
	}
	unhealthy := map[string]string{}
	for _, g := range fresh {
		for _, inst := range g.Instances {
			key := structs.DeviceKey(g.Vendor, g.Type, g.Name, inst.ID)
			if !inst.Healthy && wasHealthy[key] {
				unhealthy[key] = inst.HealthDescription
				c.logger.Warn("device unhealthy", "device", key, "reason", inst.HealthDescription)
			}
		}
	}
	if len(unhealthy) == 0 {
		return
	}
	for _, ar := range c.runners() {
		ar.ReportUnhealthyDevices(unhealthy)
	}
}
