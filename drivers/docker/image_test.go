package docker

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
)

// TestImageGC checks that `gc { image }` removes an image once its last
// task is destroyed and `image_delay` has passed.
func TestImageGC(t *testing.T) {
	c := requireEngine(t)
	ctx := context.Background()
	tag := "roam-test-gc:" + randomID(t)[:8]
	buildDerivedImage(t, tag)
	d := newTestDriver(t)
	if err := d.SetConfig(map[string]any{"gc": map[string]any{"image": true, "image_delay": "100ms"}}); err != nil {
		t.Fatal(err)
	}
	task := newTask(t, d, "web", map[string]any{"image": tag})
	if _, err := d.StartTask(task); err != nil {
		t.Fatal(err)
	}
	if err := d.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "image removal", func() bool {
		_, err := c.ImageInspect(ctx, tag)
		return err != nil
	})
	if _, err := c.ImageInspect(ctx, testImage); err != nil {
		t.Fatalf("base test image removed too: %v", err)
	}
}

// buildDerivedImage builds a distinct image on top of the test image.
func buildDerivedImage(t *testing.T, tag string) {
	t.Helper()
	c := requireEngine(t)
	dockerfile := []byte("FROM " + testImage + "\nLABEL roam.test.tag=" + tag + "\n")
	dir := t.TempDir() + "/Dockerfile"
	if err := os.WriteFile(dir, dockerfile, 0o644); err != nil {
		t.Fatal(err)
	}
	ctxTar, err := tarContext(map[string]string{"Dockerfile": dir})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.ImageBuild(context.Background(), ctxTar, build.ImageBuildOptions{Tags: []string{tag}, Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, &out, 0, false, nil); err != nil {
		t.Fatalf("build %s: %v: %s", tag, err, out.String())
	}
	t.Cleanup(func() { _, _ = c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true}) })
}
