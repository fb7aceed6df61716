package docker

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// TestReconcileDangling removes a labelled container no task owns and
// keeps the one a task owns. It looks only at this test's containers, so
// other containers on the engine are safe.
func TestReconcileDangling(t *testing.T) {
	c := requireEngine(t)
	ctx := context.Background()
	d := newTestDriver(t)
	if err := d.SetConfig(map[string]any{"gc": map[string]any{
		"image": false, "dangling_containers": map[string]any{"creation_grace": "0s"},
	}}); err != nil {
		t.Fatal(err)
	}
	runLabel := "roam.test.run=" + randomID(t)
	owned := newTask(t, d, "owned", map[string]any{"labels": map[string]any{"roam.test.run": runLabel[len("roam.test.run="):]}})
	if _, err := d.StartTask(owned); err != nil {
		t.Fatal(err)
	}
	dangling, err := c.ContainerCreate(ctx, &container.Config{
		Image:  testImage,
		Labels: map[string]string{labelAllocID: randomID(t), "roam.test.run": runLabel[len("roam.test.run="):]},
	}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.ContainerRemove(ctx, dangling.ID, container.RemoveOptions{Force: true}) })
	if err := c.ContainerStart(ctx, dangling.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := d.reconcile(ctx, filters.Arg("label", runLabel)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContainerInspect(ctx, dangling.ID); err == nil {
		t.Error("dangling container survived reconciliation")
	}
	if _, err := c.ContainerInspect(ctx, containerName(owned)); err != nil {
		t.Errorf("owned container removed: %v", err)
	}
}
