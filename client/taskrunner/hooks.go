package taskrunner

import (
	"fmt"

	"github.com/roam-project/roam/client/taskenv"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/logging"
)

// prestartHook prepares one aspect of a task before each start.
type prestartHook interface {
	Name() string
	Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error
}

// hostEnvDriver is implemented by drivers whose tasks see the agent's
// environment (no filesystem isolation).
type hostEnvDriver interface {
	InheritHostEnv() bool
}

// taskDirHook builds the task's directory.
type taskDirHook struct{}

func (taskDirHook) Name() string { return "task_dir" }

func (taskDirHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	td := tr.cfg.AllocDir.TaskDir(tr.cfg.Task.Name)
	if err := td.Build(); err != nil {
		return err
	}
	cfg.AllocDir, cfg.TaskDir = tr.cfg.AllocDir.Dir, td.Dir
	return nil
}

// envHook builds the runtime environment and interpolates the driver config.
type envHook struct{}

func (envHook) Name() string { return "env" }

func (envHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	env := tr.env()
	cfg.Env = env.Map()
	tr.identityEnv(cfg.Env)
	cfg.Config = env.ReplaceConfig(tr.cfg.Task.Config)
	cfg.User = env.Replace(tr.cfg.Task.User)
	tr.mu.Lock()
	alloc := tr.alloc
	tr.mu.Unlock()
	cfg.Resources = taskenv.TaskResources(alloc, tr.cfg.Task)
	if err := tr.cfg.Driver.ValidateConfig(cfg.Config); err != nil {
		return fmt.Errorf("invalid task config: %w", err)
	}
	return nil
}

// env builds the task's runtime environment from the current allocation.
func (tr *TaskRunner) env() *taskenv.Env {
	tr.mu.Lock()
	alloc, n := tr.alloc, tr.networkLocked()
	tr.mu.Unlock()
	hostEnv := false
	if d, ok := tr.cfg.Driver.(hostEnvDriver); ok {
		hostEnv = d.InheritHostEnv()
	}
	return taskenv.Build(taskenv.Input{
		Alloc: alloc, Task: tr.cfg.Task, Node: tr.cfg.Node, Region: tr.cfg.Region,
		AllocDir: tr.cfg.AllocDir, TaskDir: tr.cfg.AllocDir.TaskDir(tr.cfg.Task.Name), HostEnv: hostEnv, AllocIP: n.Address, ClusterIP: n.Cluster,
	})
}

// logsHook applies the task's `logs` block.
type logsHook struct{}

func (logsHook) Name() string { return "logs" }

func (logsHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	name := tr.cfg.Task.Name
	cfg.StdoutPath = tr.cfg.AllocDir.LogBase(name, "stdout")
	cfg.StderrPath = tr.cfg.AllocDir.LogBase(name, "stderr")
	cfg.LogMaxFiles, cfg.LogMaxFileSizeMB = logging.DefaultMaxFiles, logging.DefaultMaxFileSizeMB
	if lc := tr.cfg.Task.LogConfig; lc != nil {
		if lc.MaxFiles != nil && *lc.MaxFiles > 0 {
			cfg.LogMaxFiles = *lc.MaxFiles
		}
		if lc.MaxFileSizeMB != nil && *lc.MaxFileSizeMB > 0 {
			cfg.LogMaxFileSizeMB = *lc.MaxFileSizeMB
		}
	}
	return nil
}

// prestart runs the hooks and returns the driver's task config.
func (tr *TaskRunner) prestart() (*drivers.TaskConfig, error) {
	tr.mu.Lock()
	alloc := tr.alloc
	tr.mu.Unlock()
	cfg := &drivers.TaskConfig{
		ID: tr.taskID, AllocID: alloc.ID, TaskName: tr.cfg.Task.Name,
		GroupName: alloc.TaskGroup, KillSignal: tr.cfg.Task.KillSignal,
	}
	if alloc.Job != nil && alloc.Job.Name != nil {
		cfg.JobName = *alloc.Job.Name
	}
	for _, h := range tr.hooks {
		if err := h.Prestart(tr, cfg); err != nil {
			return nil, fmt.Errorf("prestart hook %q failed: %w", h.Name(), err)
		}
	}
	return cfg, nil
}
