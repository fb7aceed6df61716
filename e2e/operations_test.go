package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestSchedulerWorkersAtRunTime: with the workers reconfigured to run no
// job scheduler, a registered job waits; given its scheduler back, it runs.
func TestSchedulerWorkersAtRunTime(t *testing.T) {
	a := startDevAgent(t, "")
	agent := a.client.Agent()
	info, err := agent.GetSchedulerWorkersInfo(nil)
	if err != nil || len(info.Schedulers) == 0 {
		t.Fatalf("workers: %+v, %v", info, err)
	}
	if _, err := agent.SetSchedulerWorkerConfig(api.SchedulerWorkerPoolArgs{NumSchedulers: 1, EnabledSchedulers: []string{"_core"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.SetSchedulerWorkerConfig(api.SchedulerWorkerPoolArgs{NumSchedulers: -1, EnabledSchedulers: []string{"_core"}}, nil); err == nil || !strings.Contains(err.Error(), "400 (Invalid request)") {
		t.Fatalf("a negative worker count: %v, want 400 Invalid request", err)
	}
	resp, _, err := a.client.Jobs().Register(shellJob("waits", "batch", 1, "exit 0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if eval, _, err := a.client.Evaluations().Info(resp.EvalID, nil); err != nil || eval.Status != "pending" {
		t.Fatalf("evaluation with no batch scheduler running: %+v, %v", eval, err)
	}
	cfg, err := agent.SetSchedulerWorkerConfig(api.SchedulerWorkerPoolArgs{NumSchedulers: 1, EnabledSchedulers: []string{"_core", "batch"}}, nil)
	if err != nil || cfg.NumSchedulers != 1 {
		t.Fatalf("set workers: %+v, %v", cfg, err)
	}
	waitUntil(t, 30*time.Second, "the job's allocation to complete", func() bool {
		return countStatus(a.allocsOf(t, "waits"), "complete") == 1
	})
}

// TestNodeEvaluateAndPurge: `node eval` and `node purge` through the Go
// client, on a node that does not exist and on the agent's own.
func TestNodeEvaluateAndPurge(t *testing.T) {
	a := startDevAgent(t, "")
	nodes := a.client.Nodes()
	for name, call := range map[string]func(string) error{
		"evaluate": func(id string) error { _, _, err := nodes.ForceEvaluate(id, nil); return err },
		"purge":    func(id string) error { _, _, err := nodes.Purge(id, nil); return err },
	} {
		if err := call("12345678-abcd-efab-cdef-123456789abc"); err == nil || !strings.Contains(err.Error(), "404 (node not found)") {
			t.Errorf("%s of an unknown node: %v, want 404 node not found", name, err)
		}
	}
	list, _, err := nodes.List(nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("nodes: %v, %v", list, err)
	}
	id := list[0].ID
	if _, _, err := a.client.Jobs().Register(shellJob("svc", "service", 1, "sleep 300"), nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "a running allocation", func() bool { return countStatus(a.allocsOf(t, "svc"), "running") == 1 })
	if _, _, err := nodes.ForceEvaluate(id, nil); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	waitUntil(t, 10*time.Second, "a node-update evaluation of the job", func() bool {
		evals, _, _ := a.client.Jobs().Evaluations("svc", nil)
		for _, e := range evals {
			if e.TriggeredBy == "node-update" && e.NodeID == id {
				return true
			}
		}
		return false
	})
	out, meta, err := nodes.Purge(id, nil)
	if err != nil || len(out.EvalIDs) != 1 || meta.LastIndex == 0 {
		t.Fatalf("purge: %+v, %+v, %v; want one evaluation (the job's) and an index", out, meta, err)
	}
}
