package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/api/contexts"
)

// TestSearchScalingAndEvaluate drives /v1/search, /v1/search/fuzzy, the
// scaling policies, a job's scale status and /evaluate with
// ForceReschedule through the Go client, and checks that the Enterprise
// endpoints answer Nomad's "Enterprise only" error.
func TestSearchScalingAndEvaluate(t *testing.T) {
	a := startDevAgent(t, "")
	job := shellJob("searchable", "service", 2, "sleep 600")
	job.TaskGroups[0].Scaling = &api.ScalingPolicy{Max: ptr(int64(5)), Policy: map[string]any{"cooldown": "1m"}}
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "two running allocations", func() bool {
		return countStatus(a.allocsOf(t, "searchable"), "running") == 2
	})

	s := a.client.Search()
	prefix, _, err := s.PrefixSearch("search", contexts.Jobs, nil)
	if err != nil || len(prefix.Matches[contexts.Jobs]) != 1 || prefix.Matches[contexts.Jobs][0] != "searchable" {
		t.Fatalf("prefix search = %+v, %v", prefix, err)
	}
	alloc := a.allocsOf(t, "searchable")[0]
	all, _, err := s.PrefixSearch(alloc.ID[:6], contexts.All, nil)
	if err != nil || len(all.Matches[contexts.Allocs]) == 0 || all.Matches[contexts.Allocs][0][:6] != alloc.ID[:6] {
		t.Fatalf("prefix search of everything = %+v, %v", all, err)
	}
	if _, ok := all.Matches[contexts.NodePools]; !ok {
		t.Fatalf("all contexts lack node pools: %+v", all.Matches)
	}
	fuzzy, _, err := s.FuzzySearch("bin", contexts.All, nil)
	if err != nil || len(fuzzy.Matches[contexts.Commands]) != 1 || fuzzy.Matches[contexts.Commands][0].ID != "/bin/sh" ||
		strings.Join(fuzzy.Matches[contexts.Commands][0].Scope, ",") != "default,searchable,app,main" {
		t.Fatalf("fuzzy search = %+v, %v", fuzzy, err)
	}
	if _, _, err := s.FuzzySearch("b", contexts.All, nil); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("one-letter fuzzy search: %v", err)
	}

	scaling := a.client.Scaling()
	policies, _, err := scaling.ListPolicies(nil)
	if err != nil || len(policies) != 1 || policies[0].Target["Job"] != "searchable" || policies[0].Target["Group"] != "app" ||
		policies[0].Type != "horizontal" || !policies[0].Enabled {
		t.Fatalf("scaling policies = %+v, %v", policies, err)
	}
	policy, _, err := scaling.GetPolicy(policies[0].ID, nil)
	if err != nil || *policy.Max != 5 || *policy.Min != 2 || policy.Policy["cooldown"] != "1m" {
		t.Fatalf("scaling policy = %+v, %v", policy, err)
	}
	if _, _, err := scaling.GetPolicy("nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown policy: %v", err)
	}
	status, _, err := a.client.Jobs().ScaleStatus("searchable", nil)
	if err != nil || status.TaskGroups["app"].Desired != 2 || status.TaskGroups["app"].Running != 2 || status.TaskGroups["app"].Placed != 2 {
		t.Fatalf("scale status = %+v, %v", status, err)
	}

	evalID, _, err := a.client.Jobs().EvaluateWithOpts("searchable", api.EvalOptions{ForceReschedule: true}, nil)
	if err != nil || evalID == "" {
		t.Fatalf("evaluate with ForceReschedule = %q, %v", evalID, err)
	}
	waitUntil(t, 20*time.Second, "the evaluation to complete", func() bool {
		e, _, err := a.client.Evaluations().Info(evalID, nil)
		return err == nil && e.Status == "complete"
	})

	if _, _, err := a.client.Quotas().List(nil); err == nil || !strings.Contains(err.Error(), "501") || !strings.Contains(err.Error(), "Nomad Enterprise only endpoint") {
		t.Fatalf("quotas: %v", err)
	}
	if _, _, err := a.client.Recommendations().List(nil); err == nil || !strings.Contains(err.Error(), "Nomad Enterprise only endpoint") {
		t.Fatalf("recommendations: %v", err)
	}
	if _, _, err := a.client.SentinelPolicies().List(nil); err == nil || !strings.Contains(err.Error(), "Nomad Enterprise only endpoint") {
		t.Fatalf("sentinel policies: %v", err)
	}
}
