package agent

import (
	"fmt"
	"log/slog"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/docker"
	"github.com/roam-project/roam/drivers/exec"
	"github.com/roam-project/roam/drivers/java"
	"github.com/roam-project/roam/drivers/mock"
	"github.com/roam-project/roam/drivers/qemu"
	"github.com/roam-project/roam/drivers/rawexec"
)

// loadDrivers builds every compiled-in driver and applies the agent's
// `plugin "NAME" { config {} }` blocks to them. A plugin block for a
// driver Roam does not have is an error. The isolating drivers keep their
// supervisors' state under stateRoot, and bind chrootEnv (the client's
// chroot_env; nil for the default) into their tasks' chroots.
func loadDrivers(plugins map[string]*PluginConfig, stateRoot string, chrootEnv map[string]string, logger *slog.Logger) (map[string]drivers.Driver, error) {
	execDriver, javaDriver := exec.New(stateRoot), java.New(stateRoot)
	if len(chrootEnv) > 0 {
		execDriver.SetChrootEnv(chrootEnv)
		javaDriver.SetChrootEnv(chrootEnv)
	}
	all := []drivers.Driver{rawexec.New(), docker.New(logger), execDriver, javaDriver, qemu.New(stateRoot), mock.New()}
	out := make(map[string]drivers.Driver, len(all))
	for _, d := range all {
		out[d.Name()] = d
	}
	for name, p := range plugins {
		if isDevicePlugin(name) {
			continue
		}
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
