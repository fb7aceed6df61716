package docker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/roam-project/roam/drivers"
)

func TestFingerprint(t *testing.T) {
	requireEngine(t)
	d := newTestDriver(t)
	fp := d.Fingerprint(context.Background())
	if !fp.Detected || !fp.Healthy {
		t.Fatalf("fingerprint = %+v", fp)
	}
	if fp.Attributes[""] != "1" || fp.Attributes["version"] == "" {
		t.Errorf("attributes = %v", fp.Attributes)
	}
}

func TestFingerprintNoDaemon(t *testing.T) {
	d := New(nil)
	t.Cleanup(d.Shutdown)
	if err := d.SetConfig(map[string]any{"endpoint": "unix:///nonexistent/docker.sock"}); err != nil {
		t.Fatal(err)
	}
	fp := d.Fingerprint(context.Background())
	if fp.Detected || fp.Healthy || !strings.Contains(fp.HealthDescription, "Failed to connect") {
		t.Fatalf("fingerprint = %+v", fp)
	}
}

// TestStartLogsAndPorts starts the web app with a static port mapped to a
// different container port and a dynamic one, and checks both answer on
// the host and the output lands in the log files.
func TestStartLogsAndPorts(t *testing.T) {
	c := requireEngine(t)
	d := newTestDriver(t)
	static, dynamic := freePort(t), freePort(t)
	task := newTask(t, d, "web", map[string]any{"ports": []any{"http", "admin"}})
	task.Env["PORT"] = "8080," + strconv.Itoa(dynamic)
	task.Resources.Ports = []drivers.Port{
		{Label: "http", Value: static, To: 8080, HostIP: "127.0.0.1"},
		{Label: "admin", Value: dynamic},
	}
	task.Resources.ReservedCores = []uint16{0}
	handle, err := d.StartTask(task)
	if err != nil {
		t.Fatal(err)
	}
	inspect, err := c.ContainerInspect(context.Background(), containerName(task))
	if err != nil {
		t.Fatalf("container %s: %v", containerName(task), err)
	}
	if inspect.Config.Labels[labelAllocID] != task.AllocID || !strings.Contains(string(handle.State), inspect.ID) {
		t.Errorf("labels = %v, state = %s", inspect.Config.Labels, handle.State)
	}
	if r := inspect.HostConfig.Resources; r.CpusetCpus != "0" || r.CPUShares != 100 || r.Memory != 64<<20 {
		t.Errorf("cpuset = %q, shares = %d, memory = %d", r.CpusetCpus, r.CPUShares, r.Memory)
	}
	for _, port := range []int{static, dynamic} {
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		var body string
		waitFor(t, 20*time.Second, "HTTP on "+url, func() bool {
			body = httpGet(url)
			return strings.Contains(body, "hello from webapp")
		})
	}
	waitFor(t, 10*time.Second, "stdout log", func() bool { return logContains(task.StdoutPath, 0, "webapp listening on :8080") })
	waitFor(t, 10*time.Second, "stderr log", func() bool { return logContains(task.StderrPath, 0, "webapp stderr ready") })
}

func httpGet(url string) string {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStartBadInput checks that bad input is a clear error and leaves no
// container behind.
func TestStartBadInput(t *testing.T) {
	c := requireEngine(t)
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{"image does not exist", map[string]any{"image": "nope"}, "Failed to pull `nope:latest`"},
		{"unknown config key", map[string]any{"imgae": "x"}, `unknown key "imgae"`},
		{"privileged not allowed", map[string]any{"privileged": true}, "allow_privileged"},
		{"load archive missing", map[string]any{"load": "missing.tar"}, "load image"},
		{"unknown port label", map[string]any{"ports": []any{"db"}}, `port "db" is not defined`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDriver(t)
			task := newTask(t, d, "bad", tc.config)
			_, err := d.StartTask(task)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			list, err := c.ContainerList(context.Background(), container.ListOptions{
				All: true, Filters: filters.NewArgs(filters.Arg("label", labelAllocID+"="+task.AllocID)),
			})
			if err != nil || len(list) != 0 {
				t.Fatalf("containers left: %v (err %v)", list, err)
			}
		})
	}
}

func TestDestroy(t *testing.T) {
	c := requireEngine(t)
	d := newTestDriver(t)
	task := newTask(t, d, "web", nil)
	if _, err := d.StartTask(task); err != nil {
		t.Fatal(err)
	}
	if err := d.DestroyTask(task.ID, false); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("destroy without force = %v, want a still-running error", err)
	}
	if err := d.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContainerInspect(context.Background(), containerName(task)); err == nil {
		t.Fatal("container still exists after destroy")
	}
	if _, err := d.WaitTask(context.Background(), task.ID); err == nil {
		t.Fatal("task still known after destroy")
	}
}
