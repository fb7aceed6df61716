package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// startReconciler starts, once, the loop that removes dangling containers:
// containers labelled as tasks' that no task of this driver owns.
func (d *Driver) startReconciler() {
	d.reconcilerOnce.Do(func() { go d.reconcileLoop() })
}

// reconcileLoop runs a reconciliation every `period`, the first one a
// period after start so that a restarted client can recover its tasks
// first.
func (d *Driver) reconcileLoop() {
	for {
		cfg := d.config().GC.DanglingContainers
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(cfg.Period):
		}
		if !cfg.Enabled {
			continue
		}
		if err := d.reconcile(d.ctx); err != nil && d.ctx.Err() == nil {
			d.logger.Warn("dangling container reconciler", "error", err)
		}
	}
}

// reconcile removes the dangling containers older than `creation_grace`
// (in dry_run only logs them). Only running containers are considered
// unless `gc { container }` is on. extra narrows the containers looked at.
func (d *Driver) reconcile(ctx context.Context, extra ...filters.KeyValuePair) error {
	gc := d.config().GC
	c, err := d.client()
	if err != nil {
		return err
	}
	args := filters.NewArgs(append(extra, filters.Arg("label", labelAllocID))...)
	list, err := c.ContainerList(ctx, container.ListOptions{All: gc.Container, Filters: args})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, ct := range list {
		if d.ownsContainer(ct.ID) || time.Since(time.Unix(ct.Created, 0)) < gc.DanglingContainers.CreationGrace {
			continue
		}
		if gc.DanglingContainers.DryRun {
			d.logger.Info("dangling container (dry run, kept)", "container_id", ct.ID, "names", ct.Names)
			continue
		}
		err := c.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !client.IsErrNotFound(err) {
			return fmt.Errorf("remove dangling container %s: %w", ct.ID, err)
		}
		d.logger.Info("removed dangling container", "container_id", ct.ID, "names", ct.Names)
	}
	return nil
}
