package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestSchedulerAndAutopilotConfiguration reads and sets the scheduler
// configuration through the Go client and the CLI (check-and-set
// included), pauses the eval broker to delete evaluations, refuses job
// registrations when told to, and reads and sets autopilot's
// configuration and health.
func TestSchedulerAndAutopilotConfiguration(t *testing.T) {
	a := startDevAgent(t, "")
	op := a.client.Operator()
	got, _, err := op.SchedulerGetConfiguration(nil)
	if err != nil || got.SchedulerConfig.SchedulerAlgorithm != api.SchedulerAlgorithmBinpack ||
		!got.SchedulerConfig.PreemptionConfig.SystemSchedulerEnabled {
		t.Fatalf("default scheduler configuration = %+v, %v", got, err)
	}
	set, _, err := op.SchedulerSetConfiguration(&api.SchedulerConfiguration{SchedulerAlgorithm: api.SchedulerAlgorithmSpread,
		PreemptionConfig: api.PreemptionConfig{ServiceSchedulerEnabled: true}, MemoryOversubscriptionEnabled: true}, nil)
	if err != nil || !set.Updated {
		t.Fatalf("set scheduler configuration = %+v, %v", set, err)
	}
	got, _, err = op.SchedulerGetConfiguration(nil)
	cfg := got.SchedulerConfig
	if err != nil || cfg.SchedulerAlgorithm != api.SchedulerAlgorithmSpread || !cfg.PreemptionConfig.ServiceSchedulerEnabled ||
		!cfg.MemoryOversubscriptionEnabled || cfg.ModifyIndex == 0 {
		t.Fatalf("scheduler configuration = %+v, %v", cfg, err)
	}
	stale := *cfg
	stale.ModifyIndex--
	if r, _, err := op.SchedulerCASConfiguration(&stale, nil); err != nil || r.Updated {
		t.Fatalf("CAS with a stale index = %+v, %v; want not updated", r, err)
	}
	if _, _, err := op.SchedulerSetConfiguration(&api.SchedulerConfiguration{SchedulerAlgorithm: "random"}, nil); err == nil ||
		!strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "invalid scheduler algorithm") {
		t.Fatalf("unknown algorithm: %v, want a 400", err)
	}

	out, code := a.roam(t, "operator", "scheduler", "get-config")
	if code != 0 || !strings.Contains(out, "Scheduler Algorithm           = spread") || !strings.Contains(out, "Preemption Service Scheduler  = true") {
		t.Fatalf("get-config (%d):\n%s", code, out)
	}

	// Deleting evaluations needs the broker paused.
	job := shellJob("never", "batch", 1, "exit 0")
	job.Constraints = []*api.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "none", Operand: "="}}
	reg, _, err := a.client.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	evals := a.client.Evaluations()
	if _, err := evals.Delete([]string{reg.EvalID}, nil); err == nil || !strings.Contains(err.Error(), "eval broker is enabled") {
		t.Fatalf("delete with the broker running: %v", err)
	}
	if out, code := a.roam(t, "operator", "scheduler", "set-config", "-pause-eval-broker=true", "-scheduler-algorithm=binpack"); code != 0 ||
		!strings.Contains(out, "Scheduler configuration updated!") {
		t.Fatalf("set-config (%d):\n%s", code, out)
	}
	got, _, _ = op.SchedulerGetConfiguration(nil)
	if !got.SchedulerConfig.PauseEvalBroker || got.SchedulerConfig.SchedulerAlgorithm != api.SchedulerAlgorithmBinpack ||
		!got.SchedulerConfig.MemoryOversubscriptionEnabled {
		t.Fatalf("after set-config: %+v", got.SchedulerConfig)
	}
	if _, err := evals.Delete([]string{"8e231cf4-ca48-43ff-b694-5801e69e22fa"}, nil); err == nil || !strings.Contains(err.Error(), "eval not found") {
		t.Fatalf("delete an unknown evaluation: %v", err)
	}
	deleted, _, err := evals.DeleteOpts(&api.EvalDeleteRequest{Filter: `JobID == "never"`}, nil)
	if err != nil || deleted.Count == 0 {
		t.Fatalf("delete by filter = %+v, %v", deleted, err)
	}
	if left, _, err := evals.List(&api.QueryOptions{Params: map[string]string{"job": "never"}}); err != nil || len(left) != 0 {
		t.Fatalf("evaluations left = %v, %v", left, err)
	}

	// While the broker is paused a new evaluation waits; resumed, it runs.
	reg, _, err = a.client.Jobs().Register(shellJob("later", "batch", 1, "exit 0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, code := a.roam(t, "operator", "scheduler", "set-config", "-pause-eval-broker=false"); code != 0 {
		t.Fatal("resume the broker")
	}
	waitUntil(t, 20*time.Second, "the evaluation to complete", func() bool {
		e, _, err := evals.Info(reg.EvalID, nil)
		return err == nil && e.Status == "complete"
	})

	if _, _, err := op.SchedulerSetConfiguration(&api.SchedulerConfiguration{RejectJobRegistration: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.client.Jobs().Register(shellJob("refused", "batch", 1, "exit 0"), nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("register while registrations are rejected: %v, want a 403", err)
	}

	ap, _, err := op.AutopilotGetConfiguration(nil)
	if err != nil || !ap.CleanupDeadServers || ap.LastContactThreshold != 200*time.Millisecond {
		t.Fatalf("autopilot configuration = %+v, %v", ap, err)
	}
	ap.MaxTrailingLogs = 500
	if ok, _, err := op.AutopilotCASConfiguration(ap, nil); err != nil || !ok {
		t.Fatalf("autopilot CAS = %v, %v", ok, err)
	}
	if ok, _, err := op.AutopilotCASConfiguration(ap, nil); err != nil || ok {
		t.Fatalf("autopilot CAS with a used index = %v, %v; want false", ok, err)
	}
	ap, _, _ = op.AutopilotGetConfiguration(nil)
	if ap.MaxTrailingLogs != 500 {
		t.Fatalf("autopilot configuration after CAS = %+v", ap)
	}
	health, _, err := op.AutopilotServerHealth(nil)
	if err != nil || !health.Healthy || len(health.Servers) != 1 || !health.Servers[0].Leader || health.Servers[0].LastIndex == 0 {
		t.Fatalf("autopilot health = %+v, %v", health, err)
	}
}
