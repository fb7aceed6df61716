package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestAgentWithoutNVML starts an agent on a machine without the NVIDIA
// driver: it runs, logs why it found no GPU, and its node reports no
// devices; a job asking for a GPU is not placed and says why.
func TestAgentWithoutNVML(t *testing.T) {
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/lib/aarch64-linux-gnu"} {
		if _, err := os.Stat(filepath.Join(dir, "libnvidia-ml.so.1")); err == nil {
			t.Skip("this machine has NVML; scripts/gpu-check tests it")
		}
	}
	a := startDevAgent(t, "")
	waitUntil(t, 10*time.Second, "the reason logged", func() bool {
		log, _ := os.ReadFile(a.log.Name())
		return strings.Contains(string(log), "no devices fingerprinted") && strings.Contains(string(log), "libnvidia-ml.so.1")
	})
	nodes, _, err := a.client.Nodes().List(nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes: %v, %v", nodes, err)
	}
	node, _, err := a.client.Nodes().Info(nodes[0].ID, nil)
	if err != nil || len(node.NodeResources.Devices) != 0 {
		t.Fatalf("node devices = %+v, %v; want none", node.NodeResources.Devices, err)
	}
	job := shellJob("wants-gpu", "batch", 1, "true")
	job.TaskGroups[0].Tasks[0].Resources.Devices = []*api.RequestedDevice{{Name: "nvidia/gpu", Count: ptr(uint64(1))}}
	resp, _, err := a.client.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the placement failure naming the devices", func() bool {
		ev, _, err := a.client.Evaluations().Info(resp.EvalID, nil)
		return err == nil && ev.FailedTGAllocs["app"] != nil && ev.FailedTGAllocs["app"].ConstraintFiltered["missing devices"] == 1
	})
}
