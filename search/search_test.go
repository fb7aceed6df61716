package search

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/api/contexts"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/structs"
)

// fakeState serves a fixed set of objects.
type fakeState struct {
	jobs  []*api.Job
	nodes []*api.Node
}

func (f *fakeState) Jobs(ns, prefix string) ([]*api.Job, error) {
	var out []*api.Job
	for _, j := range f.jobs {
		if (ns == "*" || *j.Namespace == ns) && strings.HasPrefix(*j.ID, prefix) {
			out = append(out, j)
		}
	}
	return out, nil
}
func (f *fakeState) Evals(string) ([]*api.Evaluation, error) {
	return []*api.Evaluation{{ID: "e1a2", Namespace: "default"}}, nil
}
func (f *fakeState) Allocs(string) ([]*api.Allocation, error)      { return nil, nil }
func (f *fakeState) NodesByPrefix(string) ([]*api.Node, error)     { return f.nodes, nil }
func (f *fakeState) Deployments(string) ([]*api.Deployment, error) { return nil, nil }
func (f *fakeState) Namespaces(string) ([]*api.Namespace, error) {
	return []*api.Namespace{{Name: "default"}, {Name: "prod"}}, nil
}
func (f *fakeState) NodePools(string) ([]*api.NodePool, error) {
	return structs.BuiltinNodePools(), nil
}
func (f *fakeState) VarsByPrefix(string, string) ([]*structs.Var, error) {
	return nil, nil
}

func job(ns, id, command string) *api.Job {
	task := api.NewTask("server", "raw_exec").SetConfig("command", command)
	j := api.NewBatchJob(id, id, "global", 50)
	j.Namespace = &ns
	j.AddTaskGroup(api.NewTaskGroup("web", 1).AddTask(task))
	return j
}

func state() *fakeState {
	return &fakeState{
		jobs:  []*api.Job{job("default", "example", "/bin/sleep"), job("default", "exam-2", "/usr/bin/env"), job("prod", "example", "/bin/sleep")},
		nodes: []*api.Node{{ID: "n1", Name: "worker-1", NodeClass: "large"}},
	}
}

func TestPrefix(t *testing.T) {
	readDefault, _ := acl.Parse(`namespace "default" { policy = "read" }`)
	cases := []struct {
		name    string
		prefix  string
		req     Request
		context contexts.Context
		want    []string
		absent  bool
	}{
		{name: "jobs of a namespace", prefix: "exam", req: Request{Context: contexts.Jobs, Namespace: "default", ACL: acl.ManagementACL}, context: contexts.Jobs, want: []string{"exam-2", "example"}},
		{name: "all namespaces", prefix: "example", req: Request{Context: contexts.All, Namespace: "*", ACL: acl.ManagementACL}, context: contexts.Jobs, want: []string{"example", "example"}},
		{name: "evals in all", prefix: "e1", req: Request{Context: contexts.All, Namespace: "default", ACL: acl.ManagementACL}, context: contexts.Evals, want: []string{"e1a2"}},
		{name: "node pools", prefix: "d", req: Request{Context: contexts.NodePools, Namespace: "default", ACL: acl.ManagementACL}, context: contexts.NodePools, want: []string{"all", "default"}},
		{name: "ACL hides nodes", prefix: "", req: Request{Context: contexts.All, Namespace: "default", ACL: acl.Compile([]*acl.Policy{readDefault})}, context: contexts.Nodes, absent: true},
		{name: "ACL hides other namespaces", prefix: "example", req: Request{Context: contexts.Jobs, Namespace: "*", ACL: acl.Compile([]*acl.Policy{readDefault})}, context: contexts.Jobs, want: []string{"example"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := Prefix(state(), tc.prefix, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := resp.Matches[tc.context]
			if tc.absent {
				if ok {
					t.Fatalf("context %s present: %v", tc.context, got)
				}
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("matches %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := Prefix(state(), "x", Request{Context: "bogus", ACL: acl.ManagementACL}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown context: %v", err)
	}
}

func TestFuzzy(t *testing.T) {
	cases := []struct {
		name    string
		text    string
		context contexts.Context
		want    []api.FuzzyMatch
	}{
		{name: "command with its scope", text: "bin", context: contexts.Commands, want: []api.FuzzyMatch{
			{ID: "/bin/sleep", Scope: []string{"default", "example", "web", "server"}},
			{ID: "/usr/bin/env", Scope: []string{"default", "exam-2", "web", "server"}}}},
		{name: "prefix matches first", text: "am", context: contexts.Jobs, want: []api.FuzzyMatch{
			{ID: "exam-2", Scope: []string{"default"}}, {ID: "example", Scope: []string{"default"}}}},
		{name: "node class", text: "LARGE", context: contexts.Classes, want: []api.FuzzyMatch{{ID: "large"}}},
		{name: "nodes by name", text: "work", context: contexts.Nodes, want: []api.FuzzyMatch{{ID: "worker-1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := Fuzzy(state(), tc.text, Request{Context: contexts.All, Namespace: "default", ACL: acl.ManagementACL})
			if err != nil {
				t.Fatal(err)
			}
			got := resp.Matches[tc.context]
			if len(got) != len(tc.want) {
				t.Fatalf("matches %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].ID != tc.want[i].ID || !slices.Equal(got[i].Scope, tc.want[i].Scope) {
					t.Fatalf("matches %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := Fuzzy(state(), "x", Request{Context: contexts.All, ACL: acl.ManagementACL}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("one-letter text: %v", err)
	}
}
