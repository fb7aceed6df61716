package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

const scratchVolumeSpec = `type      = "host"
name      = "scratch"
plugin_id = "mkdir"
capability {
  access_mode     = "single-node-writer"
  attachment_mode = "file-system"
}
parameters {
  mode = "0777"
}
`

// TestDynamicHostVolumes creates a host volume with `volume create`,
// mounts it into a job, refuses to delete it while the job runs, and
// deletes it (and its directory) once the job is gone.
func TestDynamicHostVolumes(t *testing.T) {
	a := startDevAgent(t, "")
	spec := filepath.Join(t.TempDir(), "scratch.volume.hcl")
	if err := os.WriteFile(spec, []byte(scratchVolumeSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := a.roam(t, "volume", "create", spec)
	m := regexp.MustCompile(`Created host volume scratch with ID ([0-9a-f-]{36})`).FindStringSubmatch(out)
	if code != 0 || m == nil || !strings.Contains(out, "ready") {
		t.Fatalf("volume create: exit %d:\n%s", code, out)
	}
	id := m[1]
	vol, _, err := a.client.HostVolumes().Get(id, nil)
	if err != nil || vol.State != api.HostVolumeStateReady || vol.HostPath == "" {
		t.Fatalf("volume = %+v, %v; want ready with a path", vol, err)
	}
	if fi, err := os.Stat(vol.HostPath); err != nil || !fi.IsDir() {
		t.Fatalf("volume directory %s: %v", vol.HostPath, err)
	}
	if out, code := a.roam(t, "volume", "status"); code != 0 || !strings.Contains(out, "scratch") || !strings.Contains(out, "ready") {
		t.Fatalf("volume status: exit %d:\n%s", code, out)
	}
	waitUntil(t, 30*time.Second, "the node reporting the volume", func() bool {
		nodes, _, _ := a.client.Nodes().List(nil)
		if len(nodes) != 1 {
			return false
		}
		node, _, err := a.client.Nodes().Info(nodes[0].ID, nil)
		return err == nil && node.HostVolumes["scratch"] != nil && node.HostVolumes["scratch"].ID == id
	})

	job := volumeJob("scratch-user", "raw_exec", "scratch", false, shellConfig("echo kept > data/out.txt && sleep 300"))
	*job.Type = "service"
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	alloc := a.firstAlloc(t, "scratch-user")
	a.waitAllocStatus(t, alloc.ID, "running", 60*time.Second)
	waitUntil(t, 30*time.Second, "the task's file in the volume", func() bool {
		data, err := os.ReadFile(filepath.Join(vol.HostPath, "out.txt"))
		return err == nil && string(data) == "kept\n"
	})
	out, _ = a.roam(t, "volume", "status", id[:8])
	if !strings.Contains(out, alloc.ID[:8]) {
		t.Fatalf("volume status does not list the allocation mounting it:\n%s", out)
	}
	if out, code := a.roam(t, "volume", "delete", id); code == 0 || !strings.Contains(out, "in use") {
		t.Fatalf("delete of a mounted volume: exit %d:\n%s", code, out)
	}
	if _, _, err := a.client.Jobs().Deregister("scratch-user", true, nil); err != nil {
		t.Fatal(err)
	}
	a.waitAllocStatus(t, alloc.ID, "complete", 60*time.Second)
	if out, code := a.roam(t, "volume", "delete", id[:8]); code != 0 || !strings.Contains(out, "Successfully deleted") {
		t.Fatalf("volume delete: exit %d:\n%s", code, out)
	}
	waitUntil(t, 30*time.Second, "the volume's directory removed", func() bool {
		_, err := os.Stat(vol.HostPath)
		return os.IsNotExist(err)
	})
	if out, _ := a.roam(t, "volume", "status"); !strings.Contains(out, "No dynamic host volumes") {
		t.Fatalf("volume status after delete:\n%s", out)
	}
}
