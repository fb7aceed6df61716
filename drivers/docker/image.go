package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/roam-project/roam/drivers"
)

// normalizeImageRef adds the ":latest" tag to a reference with neither a
// tag nor a digest, as Docker does.
func normalizeImageRef(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	lastSegment := ref[strings.LastIndex(ref, "/")+1:]
	if strings.Contains(lastSegment, ":") {
		return ref
	}
	return ref + ":latest"
}

// ensureImage makes the task's image present on the engine and returns its
// ID: loaded from `load`, used as is when present locally, pulled when
// absent or when `force_pull` is set.
func (d *Driver) ensureImage(ctx context.Context, c *client.Client, task *drivers.TaskConfig, tc *TaskConfig) (string, error) {
	ref := normalizeImageRef(tc.Image)
	if tc.Load != "" {
		if err := loadImage(ctx, c, filepath.Join(task.TaskDir, "local", tc.Load)); err != nil {
			return "", err
		}
	}
	if !tc.ForcePull {
		inspect, err := c.ImageInspect(ctx, ref)
		if err == nil {
			return inspect.ID, nil
		}
		if !client.IsErrNotFound(err) {
			return "", fmt.Errorf("inspect image %q: %w", ref, err)
		}
	}
	if err := pullImage(ctx, c, ref, tc); err != nil {
		return "", err
	}
	inspect, err := c.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect pulled image %q: %w", ref, err)
	}
	return inspect.ID, nil
}

func pullImage(ctx context.Context, c *client.Client, ref string, tc *TaskConfig) error {
	ctx, cancel := context.WithTimeout(ctx, tc.ImagePullTimeout)
	defer cancel()
	var opts image.PullOptions
	if tc.Auth != nil {
		auth, err := registry.EncodeAuthConfig(registry.AuthConfig{
			Username:      tc.Auth.Username,
			Password:      tc.Auth.Password,
			Email:         tc.Auth.Email,
			ServerAddress: tc.Auth.ServerAddress,
		})
		if err != nil {
			return fmt.Errorf("encode registry auth: %w", err)
		}
		opts.RegistryAuth = auth
	}
	err := pullStream(ctx, c, ref, opts)
	if err != nil && opts.RegistryAuth != "" && tc.AuthSoftFail {
		// auth_soft_fail: the credentials may be wrong for a public image.
		opts.RegistryAuth = ""
		err = pullStream(ctx, c, ref, opts)
	}
	if err != nil && !tc.ForcePull {
		return fmt.Errorf("Failed to pull `%s`: image not found locally and its registry did not provide it: %w", ref, err)
	}
	if err != nil {
		return fmt.Errorf("Failed to pull `%s`: %w", ref, err)
	}
	return nil
}

// pullStream pulls ref, waiting for the engine to finish.
func pullStream(ctx context.Context, c *client.Client, ref string, opts image.PullOptions) error {
	rc, err := c.ImagePull(ctx, ref, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	return jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
}

func loadImage(ctx context.Context, c *client.Client, archive string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("load image: %w", err)
	}
	defer f.Close()
	resp, err := c.ImageLoad(ctx, f, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load image from %s: %w", archive, err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("load image from %s: %w", archive, err)
	}
	return nil
}

// imageGC counts the tasks using each image and, when `gc { image }` is
// on, removes an image once no task has used it for `image_delay`.
type imageGC struct {
	d      *Driver
	mu     sync.Mutex
	refs   map[string]int
	timers map[string]*time.Timer
}

func newImageGC(d *Driver) *imageGC {
	return &imageGC{d: d, refs: map[string]int{}, timers: map[string]*time.Timer{}}
}

// acquire records one more task using image id.
func (g *imageGC) acquire(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refs[id]++
	if t, ok := g.timers[id]; ok {
		t.Stop()
		delete(g.timers, id)
	}
}

// release records that a task no longer uses image id.
func (g *imageGC) release(id string) {
	cfg := g.d.config().GC
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refs[id]--; g.refs[id] > 0 {
		return
	}
	delete(g.refs, id)
	if !cfg.Image {
		return
	}
	g.timers[id] = time.AfterFunc(cfg.ImageDelay, func() { g.remove(id) })
}

func (g *imageGC) remove(id string) {
	g.mu.Lock()
	inUse := g.refs[id] > 0
	delete(g.timers, id)
	g.mu.Unlock()
	if inUse {
		return
	}
	c, err := g.d.client()
	if err != nil {
		return
	}
	_, err = c.ImageRemove(g.d.ctx, id, image.RemoveOptions{PruneChildren: true})
	if err != nil && !client.IsErrNotFound(err) {
		g.d.logger.Warn("image gc: remove image", "image", id, "error", err)
		return
	}
	g.d.logger.Debug("image gc: removed image", "image", id)
}
