package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// webappImage is the docker test image built from the driver's testdata.
const webappImage = "roam-test-webapp:latest"

// dockerAgentConfig keeps the locally built image from being collected.
const dockerAgentConfig = `plugin "docker" {
  config {
    gc {
      image = false
    }
  }
}
`

var webappBuild struct {
	once sync.Once
	err  error
}

// requireDocker skips the test when no Docker engine answers, and builds
// the webapp image (a static Go binary on scratch) once.
func requireDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	if _, err := dockerCLI("info", "--format", "{{.ServerVersion}}"); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	webappBuild.once.Do(func() { webappBuild.err = buildWebappImage() })
	if webappBuild.err != nil {
		t.Fatal(webappBuild.err)
	}
}

func buildWebappImage() error {
	dir, err := os.MkdirTemp("", "roam-webapp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := "../drivers/docker/testdata/webapp"
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "webapp"), src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build webapp: %v: %s", err, out)
	}
	dockerfile, err := os.ReadFile(filepath.Join(src, "Dockerfile"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return err
	}
	_, err = dockerCLI("build", "-q", "-t", webappImage, dir)
	return err
}

// requireRoot skips tests of the isolating exec driver when not root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the exec driver needs root")
	}
}

// containersOf lists the IDs of the containers, running or not, of an
// allocation.
func containersOf(t *testing.T, allocID string) []string {
	t.Helper()
	out := mustDockerCLI(t, "ps", "-a", "-q", "--filter", "label=com.hashicorp.nomad.alloc_id="+allocID)
	return strings.Fields(out)
}

// runJobFile writes an HCL job and submits it with `roam job run -detach`.
func (a *devAgent) runJobFile(t *testing.T, hcl string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "job.nomad.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := a.roam(t, "job", "run", "-detach", path); code != 0 {
		t.Fatalf("job run: exit %d:\n%s", code, out)
	}
}

// firstAlloc waits for the job's first allocation and returns it.
func (a *devAgent) firstAlloc(t *testing.T, jobID string) *api.Allocation {
	t.Helper()
	var id string
	waitUntil(t, 30*time.Second, "an allocation of "+jobID, func() bool {
		stubs := a.allocsOf(t, jobID)
		if len(stubs) > 0 {
			id = stubs[len(stubs)-1].ID
		}
		return id != ""
	})
	alloc, _, err := a.client.Allocations().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return alloc
}

// waitAllocStatus waits for the allocation's client status.
func (a *devAgent) waitAllocStatus(t *testing.T, allocID, status string, timeout time.Duration) *api.Allocation {
	t.Helper()
	var alloc *api.Allocation
	waitUntil(t, timeout, "allocation "+allocID+" "+status, func() bool {
		var err error
		alloc, _, err = a.client.Allocations().Info(allocID, nil)
		return err == nil && alloc.ClientStatus == status
	})
	return alloc
}

// noRestarts makes a group fail at the first failure, without rescheduling.
func noRestarts(g *api.TaskGroup) {
	g.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr("fail")}
	g.ReschedulePolicy = &api.ReschedulePolicy{Attempts: ptr(0), Unlimited: ptr(false)}
}

// Test2048DockerJob runs the seed's 2048 job: docker, a static port, 500
// MHz and 256 MB, on a locally built image; it answers HTTP on the node's
// port, and `job stop` removes its container.
func Test2048DockerJob(t *testing.T) {
	requireDocker(t)
	a := startDevAgent(t, dockerAgentConfig)
	port := freePorts(t, 1)[0]
	a.runJobFile(t, fmt.Sprintf(`job "2048" {
  group "game" {
    network {
      port "http" {
        static = %d
        to     = 80
      }
    }
    task "2048" {
      driver = "docker"
      config {
        image = %q
        ports = ["http"]
      }
      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
`, port, webappImage))
	alloc := a.firstAlloc(t, "2048")
	a.waitAllocStatus(t, alloc.ID, "running", 60*time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	var body string
	waitUntil(t, 30*time.Second, "HTTP answer on "+url, func() bool {
		body = httpBody(url)
		return strings.Contains(body, "hello from webapp")
	})
	ids := containersOf(t, alloc.ID)
	if len(ids) != 1 {
		t.Fatalf("containers of the alloc = %q, want one", ids)
	}
	limits := mustDockerCLI(t, "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}", ids[0])
	if limits != strconv.Itoa(256<<20)+" 500" {
		t.Errorf("container memory and cpu shares = %q, want 256 MiB and 500", limits)
	}
	if out, code := a.roam(t, "job", "stop", "-detach", "2048"); code != 0 {
		t.Fatalf("job stop: exit %d:\n%s", code, out)
	}
	waitUntil(t, 60*time.Second, "the container removed", func() bool {
		return len(containersOf(t, alloc.ID)) == 0
	})
}

func httpBody(url string) string {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestExecOOMKillIsReported runs a memory hog in a 64 MB exec task and
// checks `roam alloc status` shows the OOM kill.
func TestExecOOMKillIsReported(t *testing.T) {
	requireRoot(t)
	a := startDevAgent(t, "")
	job := api.NewBatchJob("hog", "hog", "global", 50)
	// tail buffers its never-ending first line, so it grows without bound.
	task := api.NewTask("hog", "exec").SetConfig("command", "tail").SetConfig("args", []string{"/dev/zero"}).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	group := api.NewTaskGroup("hog", 1).AddTask(task)
	noRestarts(group)
	job.AddTaskGroup(group)
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	alloc := a.firstAlloc(t, "hog")
	a.waitAllocStatus(t, alloc.ID, "failed", 60*time.Second)
	out, code := a.roam(t, "alloc", "status", alloc.ID)
	if code != 0 || !strings.Contains(out, "OOM Killed") {
		t.Fatalf("alloc status (exit %d) does not report the OOM kill:\n%s", code, out)
	}
}

// TestExecChrootHidesHostFiles checks an exec task sees its own directory
// (and an artifact fetched into it) but not a host file outside its chroot.
func TestExecChrootHidesHostFiles(t *testing.T) {
	requireRoot(t)
	a := startDevAgent(t, "")
	dir := t.TempDir()
	secret := filepath.Join(dir, "host-secret.txt")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	payload := filepath.Join(dir, "payload.txt")
	if err := os.WriteFile(payload, []byte("fetched"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`cat /local/payload.txt; echo; if [ -e %s ]; then echo HOST-VISIBLE; else echo HOST-HIDDEN; fi`, secret)
	job := api.NewBatchJob("chroot", "chroot", "global", 50)
	task := api.NewTask("look", "exec").SetConfig("command", "/bin/sh").SetConfig("args", []string{"-c", script}).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	task.Artifacts = []*api.TaskArtifact{{GetterSource: ptr("file://" + payload)}}
	group := api.NewTaskGroup("look", 1).AddTask(task)
	noRestarts(group)
	job.AddTaskGroup(group)
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	alloc := a.firstAlloc(t, "chroot")
	a.waitAllocStatus(t, alloc.ID, "complete", 60*time.Second)
	out, code := a.roam(t, "alloc", "logs", alloc.ID, "look")
	if code != 0 || !strings.Contains(out, "fetched") || !strings.Contains(out, "HOST-HIDDEN") {
		t.Fatalf("task output (exit %d) = %q, want the artifact and HOST-HIDDEN", code, out)
	}
}

// TestAllocExecRunsInTask runs `roam alloc exec` in running raw_exec and
// exec tasks: the command's output comes back and its exit code is the
// CLI's.
func TestAllocExecRunsInTask(t *testing.T) {
	cases := []struct {
		name   string
		driver string
		root   bool
	}{
		{"raw_exec", "raw_exec", false},
		{"exec", "exec", true},
	}
	a := startDevAgent(t, "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				requireRoot(t)
			}
			jobID := "sleeper-" + strings.ReplaceAll(tc.name, "_", "-")
			job := shellJob(jobID, "service", 1, "sleep 300")
			job.TaskGroups[0].Tasks[0].Driver = tc.driver
			if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
				t.Fatal(err)
			}
			defer a.client.Jobs().Deregister(jobID, true, nil)
			alloc := a.firstAlloc(t, jobID)
			a.waitAllocStatus(t, alloc.ID, "running", 60*time.Second)
			out, code := a.roam(t, "alloc", "exec", "-task", "main", alloc.ID, "/bin/sh", "-c", "echo hello-from-$0; exit 7", "task")
			if code != 7 || !strings.Contains(out, "hello-from-task") {
				t.Fatalf("alloc exec: exit %d, output %q; want exit 7 and the echo", code, out)
			}
			out, code = a.roam(t, "alloc", "exec", alloc.ID[:8], "true")
			if code != 0 {
				t.Fatalf("alloc exec true: exit %d: %s", code, out)
			}
		})
	}
}

// TestDockerBadInput checks a missing image fails the task with a clear
// event and leaves nothing running, and an unknown docker config key is
// refused when the job is submitted.
func TestDockerBadInput(t *testing.T) {
	requireDocker(t)
	a := startDevAgent(t, dockerAgentConfig)

	t.Run("missing image", func(t *testing.T) {
		job := api.NewBatchJob("noimage", "noimage", "global", 50)
		task := api.NewTask("app", "docker").SetConfig("image", "roam-test-missing:none").
			Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
		group := api.NewTaskGroup("app", 1).AddTask(task)
		noRestarts(group)
		job.AddTaskGroup(group)
		if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		alloc := a.firstAlloc(t, "noimage")
		alloc = a.waitAllocStatus(t, alloc.ID, "failed", 60*time.Second)
		found := false
		for _, e := range alloc.TaskStates["app"].Events {
			found = found || (e.Type == api.TaskDriverFailure && strings.Contains(e.DisplayMessage, "roam-test-missing:none"))
		}
		if !found {
			out, _ := a.roam(t, "alloc", "status", alloc.ID)
			t.Fatalf("no driver failure event naming the image:\n%s", out)
		}
		if ids := containersOf(t, alloc.ID); len(ids) != 0 {
			t.Fatalf("containers left behind: %q", ids)
		}
	})

	t.Run("unknown config key", func(t *testing.T) {
		job := api.NewServiceJob("badkey", "badkey", "global", 50)
		task := api.NewTask("app", "docker").SetConfig("image", webappImage).SetConfig("imgae", "typo").
			Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
		job.AddTaskGroup(api.NewTaskGroup("app", 1).AddTask(task))
		_, _, err := a.client.Jobs().Register(job, nil)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "imgae") {
			t.Fatalf("register error = %v, want a 400 naming the key", err)
		}
		if _, _, err := a.client.Jobs().Info("badkey", nil); err == nil {
			t.Fatal("the rejected job was stored")
		}
	})
}
