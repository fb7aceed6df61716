package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// volumeJob is a batch job of one task that mounts the host volume source
// at /data (read-only when asked), with no restarts.
func volumeJob(id, driver, source string, readOnly bool, config map[string]any) *api.Job {
	job := api.NewBatchJob(id, id, "global", 50)
	task := api.NewTask("main", driver).Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	task.Config = config
	task.VolumeMounts = []*api.VolumeMount{{Volume: ptr("data"), Destination: ptr("/data"), ReadOnly: ptr(readOnly)}}
	group := api.NewTaskGroup("main", 1).AddTask(task)
	group.Volumes = map[string]*api.VolumeRequest{"data": {Name: "data", Type: "host", Source: source, ReadOnly: readOnly}}
	noRestarts(group)
	job.AddTaskGroup(group)
	return job
}

func shellConfig(script string) map[string]any {
	return map[string]any{"command": "/bin/sh", "args": []string{"-c", script}}
}

func webappConfig(args ...string) map[string]any {
	return map[string]any{"image": webappImage, "args": args}
}

// TestHostVolumes mounts client host volumes into exec, docker and
// raw_exec tasks: what one allocation writes the next reads, a read-only
// volume refuses writes, and a job asking for a volume no node has is not
// placed and says why.
func TestHostVolumes(t *testing.T) {
	requireRoot(t)
	requireDocker(t)
	shared, seed := t.TempDir(), t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil { // exec tasks run as nobody
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "seed.txt"), []byte("seeded"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startDevAgent(t, dockerAgentConfig+fmt.Sprintf(`client {
  host_volume "shared" {
    path = %q
  }
  host_volume "seed" {
    path      = %q
    read_only = true
  }
}
`, shared, seed))
	cases := []struct {
		name   string
		job    *api.Job
		status string
		output string // in the task's stdout (complete) or stderr (failed)
	}{
		{"exec writes", volumeJob("exec-write", "exec", "shared", false, shellConfig("echo from-exec > /data/exec.txt")), "complete", ""},
		{"docker reads what exec wrote", volumeJob("docker-read", "docker", "shared", false, webappConfig("cat", "/data/exec.txt")), "complete", "from-exec"},
		{"docker writes", volumeJob("docker-write", "docker", "shared", false, webappConfig("write", "/data/docker.txt", "from-docker")), "complete", ""},
		{"exec reads what docker wrote", volumeJob("exec-read", "exec", "shared", true, shellConfig("cat /data/docker.txt")), "complete", "from-docker"},
		{"raw_exec reads through its link", volumeJob("raw-read", "raw_exec", "shared", true, shellConfig("cat data/exec.txt data/docker.txt")), "complete", "from-exec\nfrom-docker"},
		{"exec reads a read-only volume", volumeJob("exec-seed", "exec", "seed", true, shellConfig("cat /data/seed.txt")), "complete", "seeded"},
		{"exec cannot write a read-only mount", volumeJob("exec-ro", "exec", "shared", true, shellConfig("touch /data/x")), "failed", "Read-only file system"},
		{"docker cannot write a read-only mount", volumeJob("docker-ro", "docker", "seed", true, webappConfig("write", "/data/x", "no")), "failed", "read-only file system"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := a.client.Jobs().Register(tc.job, nil); err != nil {
				t.Fatal(err)
			}
			alloc := a.firstAlloc(t, *tc.job.ID)
			a.waitAllocStatus(t, alloc.ID, tc.status, 60*time.Second)
			args := []string{"alloc", "logs", alloc.ID, "main"}
			if tc.status == "failed" {
				args = []string{"alloc", "logs", "-stderr", alloc.ID, "main"}
			}
			out, code := a.roam(t, args...)
			if code != 0 || !strings.Contains(out, tc.output) {
				status, _ := a.roam(t, "alloc", "status", alloc.ID)
				t.Fatalf("logs (exit %d) = %q, want %q\n%s", code, out, tc.output, status)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(seed, "x")); err == nil {
		t.Fatal("a task wrote into the read-only volume")
	}

	t.Run("volume no node has", func(t *testing.T) {
		job := volumeJob("nowhere", "exec", "missing", false, shellConfig("true"))
		resp, _, err := a.client.Jobs().Register(job, nil)
		if err != nil {
			t.Fatal(err)
		}
		var metric *api.AllocationMetric
		waitUntil(t, 30*time.Second, "the placement failure", func() bool {
			ev, _, err := a.client.Evaluations().Info(resp.EvalID, nil)
			if err == nil && ev.FailedTGAllocs["main"] != nil {
				metric = ev.FailedTGAllocs["main"]
			}
			return metric != nil
		})
		if metric.ConstraintFiltered["missing compatible host volumes"] != 1 {
			t.Fatalf("failure metric = %+v, want the missing host volume named", metric)
		}
		out, _ := a.roam(t, "job", "status", "nowhere")
		if !strings.Contains(out, "missing compatible host volumes") {
			t.Fatalf("job status does not name the missing volume:\n%s", out)
		}
	})
}
