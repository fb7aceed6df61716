// Package exec is the "exec" task driver: it runs a command isolated in its
// own PID, mount, IPC and UTS namespaces, chrooted into its task directory,
// as an unprivileged user, under cgroup limits (see drivers/isolation).
package exec

import (
	"context"
	"errors"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/isolation"
)

// Name is the driver's name in job files.
const Name = "exec"

// DefaultUser runs tasks that name no user, as in Nomad.
const DefaultUser = "nobody"

// taskConfig is the task's `config` block.
type taskConfig struct {
	isolation.TaskOptions
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// Driver is the exec driver. The zero value is not usable; call New.
type Driver struct {
	*isolation.Tasks

	isolation.Settings
}

var _ drivers.Driver = (*Driver)(nil)

// New returns an exec driver whose supervisors keep their state under
// stateRoot (isolation.DefaultStateRoot when empty).
func New(stateRoot string) *Driver {
	if stateRoot == "" {
		stateRoot = isolation.DefaultStateRoot
	}
	return &Driver{Tasks: isolation.NewTasks(Name, stateRoot)}
}

// Name returns "exec".
func (d *Driver) Name() string { return Name }

// Fingerprint reports the driver healthy when it can isolate tasks.
func (d *Driver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	return isolation.FingerprintIsolation(ctx)
}

// ValidateConfig checks a task's config block.
func (d *Driver) ValidateConfig(config map[string]any) error {
	_, err := decodeTaskConfig(config)
	return err
}

func decodeTaskConfig(config map[string]any) (*taskConfig, error) {
	var tc taskConfig
	if err := isolation.DecodeConfig(config, &tc); err != nil {
		return nil, err
	}
	if tc.Command == "" {
		return nil, errors.New(`config key "command" is required`)
	}
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	return &tc, nil
}

// StartTask starts the task's command in its chroot.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	tc, err := decodeTaskConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	spec := isolation.NewSpec(cfg)
	spec.Command, spec.Args = tc.Command, tc.Args
	if spec.User == "" {
		spec.User = DefaultUser
	}
	err = d.ChrootSpec(spec, tc.TaskOptions, nil)
	if err != nil {
		return nil, err
	}
	return d.Launch(cfg, spec)
}
