package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/taskrunner"
	"github.com/roam-project/roam/drivers"
)

// ErrUnknownTask is returned for a task name the allocation lacks.
var ErrUnknownTask = errors.New("unknown task")

func (ar *AllocRunner) taskRunner(name string) (*taskrunner.TaskRunner, error) {
	for _, tr := range ar.tasks {
		if tr.Name() == name {
			return tr, nil
		}
	}
	return nil, fmt.Errorf("%w %q in allocation %s", ErrUnknownTask, name, ar.ID())
}

// HasTask reports whether the allocation has a task of that name.
func (ar *AllocRunner) HasTask(name string) bool {
	_, err := ar.taskRunner(name)
	return err == nil
}

// Restart restarts the named task, or every running task when task is "".
func (ar *AllocRunner) Restart(ctx context.Context, task string) error {
	return ar.eachTask(task, func(tr *taskrunner.TaskRunner) error { return tr.Restart(ctx) })
}

// Signal signals the named task, or every running task when task is "".
func (ar *AllocRunner) Signal(task, signal string) error {
	return ar.eachTask(task, func(tr *taskrunner.TaskRunner) error { return tr.Signal(signal) })
}

// eachTask applies fn to the named task (its error returned as is), or to
// every task, skipping those not running.
func (ar *AllocRunner) eachTask(task string, fn func(*taskrunner.TaskRunner) error) error {
	if task != "" {
		tr, err := ar.taskRunner(task)
		if err != nil {
			return err
		}
		return fn(tr)
	}
	var errs []error
	for _, tr := range ar.tasks {
		if err := fn(tr); err != nil && !errors.Is(err, taskrunner.ErrTaskNotRunning) {
			errs = append(errs, fmt.Errorf("task %q: %w", tr.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Stats samples the resource usage of the allocation's running tasks.
func (ar *AllocRunner) Stats(ctx context.Context) *api.AllocResourceUsage {
	total := &api.ResourceUsage{MemoryStats: &api.MemoryStats{}, CpuStats: &api.CpuStats{}}
	usage := &api.AllocResourceUsage{
		ResourceUsage: total, Tasks: map[string]*api.TaskResourceUsage{}, Timestamp: time.Now().UnixNano(),
	}
	for _, tr := range ar.tasks {
		s, err := tr.Stats(ctx)
		if err != nil {
			continue
		}
		usage.Tasks[tr.Name()] = s
		m, c := s.ResourceUsage.MemoryStats, s.ResourceUsage.CpuStats
		total.MemoryStats.RSS += m.RSS
		total.MemoryStats.Usage += m.Usage
		total.MemoryStats.Cache += m.Cache
		total.MemoryStats.MaxUsage += m.MaxUsage
		total.MemoryStats.Measured = m.Measured
		total.CpuStats.SystemMode += c.SystemMode
		total.CpuStats.UserMode += c.UserMode
		total.CpuStats.Percent += c.Percent
		total.CpuStats.TotalTicks += c.TotalTicks
		total.CpuStats.Measured = c.Measured
		total.DeviceStats = append(total.DeviceStats, s.ResourceUsage.DeviceStats...)
	}
	return usage
}

// Exec runs a command inside a running task's environment.
func (ar *AllocRunner) Exec(ctx context.Context, task string, cmd []string, tty bool, streams drivers.ExecStreams) (int, error) {
	tr, err := ar.taskRunner(task)
	if err != nil {
		return -1, err
	}
	return tr.Exec(ctx, cmd, tty, streams)
}

// ReportUnhealthyDevices tells each task holding one of the devices that
// turned unhealthy (keyed by structs.DeviceKey, with the reason).
func (ar *AllocRunner) ReportUnhealthyDevices(unhealthy map[string]string) {
	for _, tr := range ar.tasks {
		tr.ReportUnhealthyDevices(unhealthy)
	}
}
