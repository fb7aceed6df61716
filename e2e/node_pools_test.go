package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestNodePools creates, lists, reads and deletes node pools through the
// Go client and the CLI, checks that the dev node's pool lists it and a
// job's pool lists the job, that a job in a pool with no nodes stays
// blocked while one in the node's pool runs, and that a pool with jobs
// cannot be deleted.
func TestNodePools(t *testing.T) {
	a := startDevAgent(t, "")
	pools := a.client.NodePools()
	list, _, err := pools.List(nil)
	if err != nil || idsOf(list, func(p *api.NodePool) string { return p.Name }) != "all,default" {
		t.Fatalf("built-in pools = %v, %v", list, err)
	}
	if _, err := pools.Register(&api.NodePool{Name: "gpu", Description: "GPU nodes", Meta: map[string]string{"tier": "1"},
		SchedulerConfiguration: &api.NodePoolSchedulerConfiguration{SchedulerAlgorithm: api.SchedulerAlgorithmSpread}}, nil); err != nil {
		t.Fatal(err)
	}
	gpu, _, err := pools.Info("gpu", nil)
	if err != nil || gpu.Description != "GPU nodes" || gpu.Meta["tier"] != "1" || gpu.SchedulerConfiguration.SchedulerAlgorithm != "spread" {
		t.Fatalf("gpu pool = %+v, %v", gpu, err)
	}
	if _, err := pools.Register(&api.NodePool{Name: "a b"}, nil); err == nil || !strings.Contains(err.Error(), "invalid node pool name") {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := pools.Register(&api.NodePool{Name: "default", Description: "x"}, nil); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("modify the default pool: %v", err)
	}
	if _, _, err := pools.Info("nope", nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown pool: %v", err)
	}
	page, qm, err := pools.List(&api.QueryOptions{PerPage: 1})
	if err != nil || len(page) != 1 || page[0].Name != "all" || qm.NextToken != "default" {
		t.Fatalf("first page = %v next %q, %v", page, qm.NextToken, err)
	}

	nodes, _, err := pools.ListNodes("default", nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes of default = %v, %v", nodes, err)
	}
	if nodes, _, err := pools.ListNodes("gpu", nil); err != nil || len(nodes) != 0 {
		t.Fatalf("nodes of gpu = %v, %v", nodes, err)
	}
	if nodes, _, err := pools.ListNodes("all", nil); err != nil || len(nodes) != 1 {
		t.Fatalf("nodes of all = %v, %v", nodes, err)
	}

	onGPU := shellJob("on-gpu", "batch", 1, "exit 0")
	onGPU.NodePool = ptr("gpu")
	reg, _, err := a.client.Jobs().Register(onGPU, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "the gpu job's evaluation to finish", func() bool {
		e, _, err := a.client.Evaluations().Info(reg.EvalID, nil)
		return err == nil && e.Status == "complete" && e.BlockedEval != ""
	})
	if allocs := a.allocsOf(t, "on-gpu"); len(allocs) != 0 {
		t.Fatalf("job in a pool without nodes placed %d allocations", len(allocs))
	}
	onDefault := shellJob("on-default", "batch", 1, "exit 0")
	if _, _, err := a.client.Jobs().Register(onDefault, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "the default pool's job to place", func() bool { return len(a.allocsOf(t, "on-default")) == 1 })
	unknown := shellJob("nowhere", "batch", 1, "exit 0")
	unknown.NodePool = ptr("nowhere")
	if _, _, err := a.client.Jobs().Register(unknown, nil); err == nil || !strings.Contains(err.Error(), `nonexistent node pool "nowhere"`) {
		t.Fatalf("job in an unknown pool: %v", err)
	}
	jobs, _, err := pools.ListJobs("gpu", nil)
	if err != nil || len(jobs) != 1 || jobs[0].ID != "on-gpu" {
		t.Fatalf("jobs of gpu = %v, %v", jobs, err)
	}
	if _, err := pools.Delete("gpu", nil); err == nil || !strings.Contains(err.Error(), `non-terminal job "on-gpu"`) {
		t.Fatalf("delete a pool with a job: %v", err)
	}
	if _, err := pools.Delete("default", nil); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("delete the default pool: %v", err)
	}

	// The CLI.
	spec := filepath.Join(t.TempDir(), "pool.hcl")
	if err := os.WriteFile(spec, []byte("node_pool \"batch\" {\n  description = \"Batch nodes\"\n  meta {\n    owner = \"ops\"\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := a.roam(t, "node", "pool", "apply", spec); code != 0 || !strings.Contains(out, `Successfully applied node pool "batch"!`) {
		t.Fatalf("node pool apply (%d): %s", code, out)
	}
	if out, code := a.roam(t, "node", "pool", "list"); code != 0 || !strings.Contains(out, "batch    Batch nodes") || !strings.Contains(out, "Name     Description") {
		t.Fatalf("node pool list (%d):\n%s", code, out)
	}
	if out, code := a.roam(t, "node", "pool", "info", "batch"); code != 0 || !strings.Contains(out, "Description = Batch nodes") || !strings.Contains(out, "owner = ops") {
		t.Fatalf("node pool info (%d):\n%s", code, out)
	}
	if out, code := a.roam(t, "node", "pool", "nodes", "default"); code != 0 || !strings.Contains(out, "Node Pool") || !strings.Contains(out, "ready") {
		t.Fatalf("node pool nodes (%d):\n%s", code, out)
	}
	if out, code := a.roam(t, "node", "pool", "jobs", "gpu"); code != 0 || !strings.Contains(out, "on-gpu") {
		t.Fatalf("node pool jobs (%d):\n%s", code, out)
	}
	if out, code := a.roam(t, "node", "pool", "delete", "batch"); code != 0 || !strings.Contains(out, `Successfully deleted node pool "batch"!`) {
		t.Fatalf("node pool delete (%d): %s", code, out)
	}
	if _, _, err := pools.Info("batch", nil); err == nil {
		t.Fatal("deleted pool still there")
	}
}
