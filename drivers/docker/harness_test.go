package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/logging"
)

// testImage is the scratch image holding testdata/webapp, built once per
// source version (a label records the sources' hash).
const testImage = "roam-test-webapp:latest"

const sourceHashLabel = "roam.test.source-sha256"

var (
	imageOnce sync.Once
	imageErr  error
	engine    *client.Client
)

// requireEngine skips the test when no Docker daemon answers and builds
// the test image on first use.
func requireEngine(t *testing.T) *client.Client {
	t.Helper()
	imageOnce.Do(func() {
		c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = c.Ping(ctx)
			cancel()
		}
		if err != nil {
			imageErr = fmt.Errorf("skip: no Docker daemon reachable: %w", err)
			return
		}
		engine = c
		imageErr = buildTestImage(c)
	})
	if imageErr != nil && strings.HasPrefix(imageErr.Error(), "skip: ") {
		t.Skip(imageErr.Error())
	}
	if imageErr != nil {
		t.Fatalf("build test image: %v", imageErr)
	}
	return engine
}

func buildTestImage(c *client.Client) error {
	ctx := context.Background()
	hash, err := sourceHash("testdata/webapp/main.go", "testdata/webapp/Dockerfile")
	if err != nil {
		return err
	}
	old, err := c.ImageInspect(ctx, testImage)
	if err == nil && old.Config != nil && old.Config.Labels[sourceHashLabel] == hash {
		return nil
	}
	dir, err := os.MkdirTemp("", "webapp-build")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	goBuild := exec.Command("go", "build", "-o", filepath.Join(dir, "webapp"), "./testdata/webapp")
	goBuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := goBuild.CombinedOutput(); err != nil {
		return fmt.Errorf("go build webapp: %v: %s", err, out)
	}
	ctxTar, err := tarContext(map[string]string{
		"Dockerfile": "testdata/webapp/Dockerfile",
		"webapp":     filepath.Join(dir, "webapp"),
	})
	if err != nil {
		return err
	}
	resp, err := c.ImageBuild(ctx, ctxTar, build.ImageBuildOptions{
		Tags:   []string{testImage},
		Labels: map[string]string{sourceHashLabel: hash},
		Remove: true,
	})
	if err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, &out, 0, false, nil); err != nil {
		return fmt.Errorf("image build: %w: %s", err, out.String())
	}
	if old.ID != "" {
		// The outdated build lost its tag; remove it so builds do not pile up.
		_, _ = c.ImageRemove(ctx, old.ID, image.RemoveOptions{PruneChildren: true})
	}
	return nil
}

func sourceHash(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tarContext packs files (name in the archive → path on disk).
func tarContext(files map[string]string) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// newTestDriver returns a driver that leaves the test image in place, shut
// down when the test ends.
func newTestDriver(t *testing.T) *Driver {
	t.Helper()
	d := New(nil)
	if err := d.SetConfig(map[string]any{"gc": map[string]any{"image": false}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	return d
}

// newTask returns a task of the test image with its own alloc and task
// directories; the task is force-destroyed when the test ends.
func newTask(t *testing.T, d *Driver, name string, config map[string]any) *drivers.TaskConfig {
	t.Helper()
	root := t.TempDir()
	allocDir, taskDir := root, filepath.Join(root, name)
	logDir := filepath.Join(allocDir, sharedAllocDir, "logs")
	for _, dir := range []string{logDir, filepath.Join(taskDir, "local"), filepath.Join(taskDir, "secrets")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := map[string]any{"image": testImage}
	for k, v := range config {
		cfg[k] = v
	}
	allocID := randomID(t)
	task := &drivers.TaskConfig{
		ID:         allocID + "/" + name,
		AllocID:    allocID,
		TaskName:   name,
		JobName:    "example",
		GroupName:  "group",
		Config:     cfg,
		Env:        map[string]string{},
		AllocDir:   allocDir,
		TaskDir:    taskDir,
		StdoutPath: filepath.Join(logDir, name+".stdout"),
		StderrPath: filepath.Join(logDir, name+".stderr"),
		Resources:  drivers.Resources{CPUShares: 100, MemoryMB: 64},
	}
	t.Cleanup(func() {
		if err := d.DestroyTask(task.ID, true); err != nil && !strings.Contains(err.Error(), drivers.ErrTaskNotFound.Error()) {
			t.Errorf("destroy %s: %v", task.ID, err)
		}
	})
	return task
}

func randomID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logContains reports whether rotation index n of the log file base holds s.
func logContains(base string, n int, s string) bool {
	b, err := os.ReadFile(logging.FileName(base, n))
	return err == nil && strings.Contains(string(b), s)
}

// waitExit waits for the task's exit result.
func waitExit(t *testing.T, d *Driver, taskID string, timeout time.Duration) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ch, err := d.WaitTask(ctx, taskID)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := <-ch
	if !ok {
		t.Fatalf("task %s did not exit within %s", taskID, timeout)
	}
	return res
}
