package agent

import (
	"fmt"

	"github.com/roam-project/roam/client"
	"github.com/roam-project/roam/devices"
	"github.com/roam-project/roam/devices/nvidia"
)

// nvidiaPluginName is the name of the NVIDIA device plugin's `plugin`
// block, as Nomad's external nvidia plugin is named.
const nvidiaPluginName = "nvidia-gpu"

// isDevicePlugin reports whether a `plugin` block configures a device
// plugin rather than a task driver.
func isDevicePlugin(name string) bool { return name == nvidiaPluginName }

// loadDevicePlugins builds the device plugins: the NVIDIA one unless its
// `plugin "nvidia-gpu" { config { enabled = false } }` turns it off.
func loadDevicePlugins(plugins map[string]*PluginConfig) ([]devices.Plugin, error) {
	enabled := true
	if p := plugins[nvidiaPluginName]; p != nil {
		for k, v := range p.Config {
			switch k {
			case "enabled":
				b, ok := v.(bool)
				if !ok {
					return nil, fmt.Errorf("plugin %q: enabled: want a bool, got %T", nvidiaPluginName, v)
				}
				enabled = b
			default:
				return nil, fmt.Errorf("plugin %q: unknown config key %q", nvidiaPluginName, k)
			}
		}
	}
	if !enabled {
		return nil, nil
	}
	return []devices.Plugin{nvidia.New()}, nil
}

// hostVolumes converts the client's `host_volume` blocks.
func hostVolumes(in map[string]HostVolume) map[string]client.HostVolume {
	out := make(map[string]client.HostVolume, len(in))
	for name, hv := range in {
		out[name] = client.HostVolume{Path: hv.Path, ReadOnly: hv.ReadOnly}
	}
	return out
}
