package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// idsOf joins the keys of a list's items, in list order.
func idsOf[T any](items []T, id func(T) string) string {
	var out []string
	for _, it := range items {
		out = append(out, id(it))
	}
	return strings.Join(out, ",")
}

// TestListFilterAndPagination pages through and filters the job,
// evaluation, variable and namespace lists with the Go client's
// QueryOptions (Filter, PerPage, NextToken, Reverse), and counts
// evaluations.
func TestListFilterAndPagination(t *testing.T) {
	a := startDevAgent(t, "")
	jobs := a.client.Jobs()
	for _, id := range []string{"c", "a", "b"} {
		job := shellJob(id, "batch", 1, "exit 0")
		job.Constraints = []*api.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "none", Operand: "="}}
		if _, _, err := jobs.Register(job, nil); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
	}
	jobID := func(j *api.JobListStub) string { return j.ID }

	first, qm, err := jobs.List(&api.QueryOptions{PerPage: 2})
	if err != nil || idsOf(first, jobID) != "a,b" || qm.NextToken != "default.c" {
		t.Fatalf("first page = %s next %q, %v", idsOf(first, jobID), qm.NextToken, err)
	}
	second, qm, err := jobs.List(&api.QueryOptions{PerPage: 2, NextToken: qm.NextToken})
	if err != nil || idsOf(second, jobID) != "c" || qm.NextToken != "" {
		t.Fatalf("second page = %s next %q, %v", idsOf(second, jobID), qm.NextToken, err)
	}
	// The client sorts what it lists; the first page shows the order.
	reversed, qm, err := jobs.List(&api.QueryOptions{Reverse: true, PerPage: 1})
	if err != nil || idsOf(reversed, jobID) != "c" || qm.NextToken != "default.b" {
		t.Fatalf("reverse = %s next %q, %v", idsOf(reversed, jobID), qm.NextToken, err)
	}
	filtered, _, err := jobs.List(&api.QueryOptions{Filter: `ID == "b" or ID == "c"`, PerPage: 1})
	if err != nil || idsOf(filtered, jobID) != "b" {
		t.Fatalf("filtered page = %s, %v", idsOf(filtered, jobID), err)
	}
	if _, _, err := jobs.List(&api.QueryOptions{Filter: `ID ==`}); err == nil || !strings.Contains(err.Error(), "400") ||
		!strings.Contains(err.Error(), "failed to read filter expression") {
		t.Fatalf("bad filter: %v, want a 400", err)
	}

	evals := a.client.Evaluations()
	waitUntil(t, 20*time.Second, "three evaluations", func() bool {
		n, _, err := evals.Count(nil)
		return err == nil && n.Count >= 3
	})
	byJob, _, err := evals.List(&api.QueryOptions{Params: map[string]string{"job": "b"}})
	if err != nil || len(byJob) == 0 || idsOf(byJob, func(e *api.Evaluation) string { return e.JobID }) != strings.Repeat("b,", len(byJob)-1)+"b" {
		t.Fatalf("evaluations of job b = %v, %v", byJob, err)
	}
	registered, _, err := evals.List(&api.QueryOptions{Filter: `TriggeredBy == "job-register" and JobID == "a"`})
	if err != nil || len(registered) != 1 || registered[0].JobID != "a" {
		t.Fatalf("filtered evaluations = %v, %v", registered, err)
	}
	count, _, err := evals.Count(&api.QueryOptions{Filter: `JobID == "c" and TriggeredBy == "job-register"`})
	if err != nil || count.Count != 1 {
		t.Fatalf("count of job c's evaluations = %v, %v", count, err)
	}
	onePage, qm, err := evals.List(&api.QueryOptions{PerPage: 1})
	if err != nil || len(onePage) != 1 || qm.NextToken == "" {
		t.Fatalf("one evaluation per page = %d, next %q, %v", len(onePage), qm.NextToken, err)
	}
	nextPage, _, err := evals.List(&api.QueryOptions{PerPage: 1, NextToken: qm.NextToken})
	if err != nil || len(nextPage) != 1 || nextPage[0].ID != qm.NextToken {
		t.Fatalf("next evaluation page = %v, %v", nextPage, err)
	}

	for _, path := range []string{"app/one", "app/two", "db/one"} {
		if _, _, err := a.client.Variables().Create(&api.Variable{Path: path, Items: api.VariableItems{"k": "v"}}, nil); err != nil {
			t.Fatalf("create variable %s: %v", path, err)
		}
	}
	varPath := func(v *api.VariableMetadata) string { return v.Path }
	vars, qm, err := a.client.Variables().List(&api.QueryOptions{PerPage: 2})
	if err != nil || idsOf(vars, varPath) != "app/one,app/two" || qm.NextToken != "default.db/one" {
		t.Fatalf("variables page = %s next %q, %v", idsOf(vars, varPath), qm.NextToken, err)
	}
	vars, _, err = a.client.Variables().List(&api.QueryOptions{Filter: `Path matches "one$"`})
	if err != nil || idsOf(vars, varPath) != "app/one,db/one" {
		t.Fatalf("filtered variables = %s, %v", idsOf(vars, varPath), err)
	}
	namespaces, _, err := a.client.Namespaces().List(&api.QueryOptions{Filter: `Name != "default"`})
	if err != nil || len(namespaces) != 0 {
		t.Fatalf("namespaces other than default = %v, %v", namespaces, err)
	}
}
