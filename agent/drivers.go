package agent

import (
	"fmt"
	"log/slog"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/docker"
	"github.com/roam-project/roam/drivers/rawexec"
)

// loadDrivers builds every compiled-in driver and applies the agent's
// `plugin "NAME" { config {} }` blocks to them. A plugin block for a
// driver Roam does not have is an error.
func loadDrivers(plugins map[string]*PluginConfig, logger *slog.Logger) (map[string]drivers.Driver, error) {
	all := []drivers.Driver{rawexec.New(), docker.New(logger)}
	out := make(map[string]drivers.Driver, len(all))
	for _, d := range all {
		out[d.Name()] = d
	}
	for name, p := range plugins {
		d, ok := out[name]
		if !ok {
			return nil, fmt.Errorf("plugin %q: no such task driver", name)
		}
		var conf map[string]any
		if p != nil {
			conf = p.Config
		}
		if err := d.SetConfig(conf); err != nil {
			return nil, fmt.Errorf("plugin %q: %w", name, err)
		}
		logger.Debug("driver configured", "driver", name)
	}
	return out, nil
}

// shutdownDrivers stops the drivers' background work; their tasks keep
// running so that a restarted client can recover them.
func shutdownDrivers(all map[string]drivers.Driver) {
	for _, d := range all {
		if s, ok := d.(interface{ Shutdown() }); ok {
			s.Shutdown()
		}
	}
}
