package e2e

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestAgentMonitorPprofAndStats follows the agent's log through the Go
// client and `roam monitor`, fetches pprof profiles, and reads the
// client's host and allocation statistics and an allocation's services.
func TestAgentMonitorPprofAndStats(t *testing.T) {
	a := startDevAgent(t, "")
	agent := a.client.Agent()
	stop := make(chan struct{})
	defer close(stop)
	frames, errCh := agent.Monitor(stop, &api.QueryOptions{Params: map[string]string{"log_level": "debug"}})
	if _, err := agent.Region(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for found := false; !found; {
		select {
		case f := <-frames:
			found = strings.Contains(string(f.Data), "[DEBUG]") && strings.Contains(string(f.Data), "request complete")
		case err := <-errCh:
			t.Fatalf("monitor: %v", err)
		case <-deadline:
			t.Fatal("no DEBUG line within 10s")
		}
	}
	node, _, err := a.client.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, errCh := agent.Monitor(nil, &api.QueryOptions{Params: map[string]string{"node_id": "nope"}}); errCh != nil {
		if err := <-errCh; err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("monitor of an unknown node: %v", err)
		}
	}

	// The CLI streams until stopped.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, roamBin, "monitor", "-log-level=debug", "-node-id="+node[0].ID)
	cmd.Env = append(cmd.Environ(), "NOMAD_ADDR="+a.addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ctx.Err() == nil {
			_, _ = a.client.Status().Leader()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || !strings.Contains(line, "[DEBUG]") {
		t.Fatalf("roam monitor printed %q, %v; stderr %q", line, err, stderr.String())
	}
	cancel()
	_ = cmd.Wait()

	heap, err := agent.Lookup("heap", api.PprofOptions{}, nil)
	if err != nil || len(heap) == 0 {
		t.Fatalf("heap profile: %d bytes, %v", len(heap), err)
	}
	if _, err := agent.Lookup("invalid", api.PprofOptions{}, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown profile: %v", err)
	}
	if _, err := agent.CPUProfile(api.PprofOptions{Seconds: 1, ServerID: "unknown.global"}, nil); err == nil ||
		!strings.Contains(err.Error(), "unknown Nomad server unknown.global") {
		t.Fatalf("profile of an unknown server: %v", err)
	}

	host, err := a.client.Nodes().Stats(node[0].ID, nil)
	if err != nil || host.Memory == nil || host.Memory.Total == 0 {
		t.Fatalf("host stats = %+v, %v", host, err)
	}
	job := namespacedWebJob("default")
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	var alloc *api.Allocation
	waitUntil(t, 30*time.Second, "a running web allocation with its service", func() bool {
		allocs := a.allocsOf(t, "web")
		if countStatus(allocs, "running") != 1 {
			return false
		}
		alloc, _, err = a.client.Allocations().Info(allocs[0].ID, nil)
		regs, _, serr := a.client.Allocations().Services(allocs[0].ID, nil)
		return err == nil && serr == nil && len(regs) == 1 && regs[0].ServiceName == "web"
	})
	usage, err := a.client.Allocations().Stats(alloc, nil)
	if err != nil || usage.ResourceUsage == nil || usage.Tasks["main"] == nil {
		t.Fatalf("allocation stats = %+v, %v", usage, err)
	}
}

// TestOperatorDebug builds a debug archive with `roam operator debug` and
// checks what it holds.
func TestOperatorDebug(t *testing.T) {
	a := startDevAgent(t, "")
	dir := t.TempDir()
	out, code := a.roam(t, "operator", "debug", "-duration=1s", "-interval=1s", "-output="+dir)
	if code != 0 || !strings.Contains(out, "Created debug archive: ") {
		t.Fatalf("operator debug (%d):\n%s", code, out)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "nomad-debug-*.tar.gz"))
	if len(paths) != 1 {
		t.Fatalf("archives in %s: %v", dir, paths)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]int{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, name, _ := strings.Cut(hdr.Name, "/")
		files[name] = int(hdr.Size)
	}
	for _, want := range []string{"cluster/agent-self.json", "cluster/members.json", "cluster/nodes.json", "cluster/jobs.json",
		"cluster/node-pools.json", "cluster/scheduler-config.json", "interval/0000/metrics.json", "interval/0000/heap.prof",
		"interval/0000/profile.prof", "interval/0000/goroutine-debug2.txt"} {
		if files[want] == 0 {
			t.Errorf("archive lacks %s (has %v)", want, files)
		}
	}
}
