package e2e

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// namespacedWebJob is job "web" in namespace ns: a shell task with a
// Nomad-provider service on a dynamic port.
func namespacedWebJob(ns string) *api.Job {
	job := shellJob("web", "service", 1, "sleep 600")
	job.Namespace = ptr(ns)
	group := job.TaskGroups[0]
	group.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
	group.Services = []*api.Service{{Name: "web", PortLabel: "http", Provider: "nomad"}}
	return job
}

// namespacesOf returns the sorted namespaces of a list's items.
func namespacesOf[T any](items []T, ns func(T) string) string {
	var out []string
	for _, it := range items {
		out = append(out, ns(it))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestNamespacesThroughAPIClient creates namespaces, runs the same job ID
// in two of them, lists across namespaces with namespace=*, and checks
// that a namespace holding a job cannot be deleted until the job is purged.
func TestNamespacesThroughAPIClient(t *testing.T) {
	a := startDevAgent(t, "")
	namespaces := a.client.Namespaces()
	for _, ns := range []*api.Namespace{
		{Name: "prod", Description: "Production", Meta: map[string]string{"owner": "ops"}},
		{Name: "qa", Description: "QA"},
	} {
		if _, err := namespaces.Register(ns, nil); err != nil {
			t.Fatalf("register namespace %s: %v", ns.Name, err)
		}
	}
	list, _, err := namespaces.List(nil)
	if err != nil || namespacesOf(list, func(n *api.Namespace) string { return n.Name }) != "default,prod,qa" {
		t.Fatalf("namespaces = %v, %v", list, err)
	}

	// The unknown namespace is refused, by the job and by the query.
	if _, _, err := a.client.Jobs().Register(namespacedWebJob("nope"), nil); err == nil ||
		!strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), `job "web" is in nonexistent namespace "nope"`) {
		t.Fatalf("register in an unknown namespace: %v, want a 400 naming it", err)
	}
	plain := shellJob("web", "service", 1, "sleep 600")
	if _, _, err := a.client.Jobs().Register(plain, &api.WriteOptions{Namespace: "nope"}); err == nil || !strings.Contains(err.Error(), "nonexistent namespace") {
		t.Fatalf("register with ?namespace=nope: %v", err)
	}

	// The same job ID runs in both namespaces: by the job's namespace in
	// prod, by the query's in qa.
	if _, _, err := a.client.Jobs().Register(namespacedWebJob("prod"), nil); err != nil {
		t.Fatal(err)
	}
	qaJob := namespacedWebJob("qa")
	qaJob.Namespace = nil
	if _, _, err := a.client.Jobs().Register(qaJob, &api.WriteOptions{Namespace: "qa"}); err != nil {
		t.Fatal(err)
	}
	all := &api.QueryOptions{Namespace: "*"}
	waitUntil(t, 60*time.Second, "web running in prod and qa", func() bool {
		allocs, _, err := a.client.Allocations().List(all)
		return err == nil && countStatus(allocs, "running") == 2 &&
			namespacesOf(allocs, func(s *api.AllocationListStub) string { return s.Namespace }) == "prod,qa"
	})
	if _, _, err := a.client.Variables().Create(&api.Variable{Path: "app/config", Items: api.VariableItems{"db": "pg"}}, &api.WriteOptions{Namespace: "qa"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "both services registered", func() bool {
		stubs, _, err := a.client.Services().List(all)
		return err == nil && namespacesOf(stubs, func(s *api.ServiceRegistrationListStub) string { return s.Namespace }) == "prod,qa"
	})

	lists := []struct {
		name string
		// list returns the namespaces of the items q lists.
		list func(q *api.QueryOptions) (string, error)
		all  string
	}{
		{"jobs", func(q *api.QueryOptions) (string, error) {
			l, _, err := a.client.Jobs().List(q)
			return namespacesOf(l, func(s *api.JobListStub) string { return s.Namespace }), err
		}, "prod,qa"},
		{"allocations", func(q *api.QueryOptions) (string, error) {
			l, _, err := a.client.Allocations().List(q)
			return namespacesOf(l, func(s *api.AllocationListStub) string { return s.Namespace }), err
		}, "prod,qa"},
		{"evaluations", func(q *api.QueryOptions) (string, error) {
			l, _, err := a.client.Evaluations().List(q)
			return namespacesOf(l, func(e *api.Evaluation) string { return e.Namespace }), err
		}, "prod,qa"},
		{"deployments", func(q *api.QueryOptions) (string, error) {
			l, _, err := a.client.Deployments().List(q)
			return namespacesOf(l, func(d *api.Deployment) string { return d.Namespace }), err
		}, "prod,qa"},
		{"variables", func(q *api.QueryOptions) (string, error) {
			l, _, err := a.client.Variables().List(q)
			return namespacesOf(l, func(v *api.VariableMetadata) string { return v.Namespace }), err
		}, "qa"},
		{"services", func(q *api.QueryOptions) (string, error) {
			l, _, err := a.client.Services().List(q)
			var ns []string
			for _, s := range l {
				if len(s.Services) > 0 {
					ns = append(ns, s.Namespace)
				}
			}
			return strings.Join(ns, ","), err
		}, "prod,qa"},
	}
	for _, tc := range lists {
		t.Run(tc.name, func(t *testing.T) {
			queries := []struct {
				namespace, want string
			}{
				{"*", tc.all},
				{"", ""},
				{"prod", strings.Trim(strings.ReplaceAll(tc.all, "qa", ""), ",")},
			}
			for _, q := range queries {
				got, err := tc.list(&api.QueryOptions{Namespace: q.namespace})
				if err != nil {
					t.Fatalf("namespace %q: %v", q.namespace, err)
				}
				if got != q.want {
					t.Errorf("namespace %q lists namespaces %q, want %q", q.namespace, got, q.want)
				}
			}
		})
	}

	// A namespace that holds a job cannot go; once the job is purged and its
	// allocation stopped, it can, and the other namespace's job runs on.
	if _, err := namespaces.Delete("prod", nil); err == nil || !strings.Contains(err.Error(), `namespace "prod" contains non-terminal job "web"`) {
		t.Fatalf("delete prod while its job runs: %v", err)
	}
	if _, err := namespaces.Delete("qa", nil); err == nil || !strings.Contains(err.Error(), "non-terminal job") {
		t.Fatalf("delete qa while its job runs: %v", err)
	}
	if _, err := namespaces.Delete("default", nil); err == nil || !strings.Contains(err.Error(), "default namespace can not be deleted") {
		t.Fatalf("delete default: %v", err)
	}
	if _, _, err := a.client.Jobs().Deregister("web", true, &api.WriteOptions{Namespace: "prod"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "prod deleted", func() bool {
		_, err := namespaces.Delete("prod", nil)
		return err == nil
	})
	if _, _, err := namespaces.Info("prod", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("info of a deleted namespace: %v", err)
	}
	allocs, _, err := a.client.Jobs().Allocations("web", false, &api.QueryOptions{Namespace: "qa"})
	if err != nil || countStatus(allocs, "running") != 1 {
		t.Fatalf("qa/web after prod's purge: %d running, %v", countStatus(allocs, "running"), err)
	}
	if _, _, err := a.client.Jobs().Deregister("web", true, &api.WriteOptions{Namespace: "qa"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "qa's allocation stopped", func() bool {
		allocs, _, err := a.client.Allocations().List(&api.QueryOptions{Namespace: "qa"})
		return err == nil && countStatus(allocs, "running") == 0
	})
	if _, err := namespaces.Delete("qa", nil); err == nil || !strings.Contains(err.Error(), `contains variable "app/config"`) {
		t.Fatalf("delete qa with a variable: %v", err)
	}
}
