package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func mustNamespaces(t *testing.T, s *Store, index uint64, names ...string) {
	t.Helper()
	req := &structs.NamespaceUpsertRequest{}
	for _, n := range names {
		req.Namespaces = append(req.Namespaces, &api.Namespace{Name: n, Description: n + " team"})
	}
	if err := s.UpsertNamespaces(index, req); err != nil {
		t.Fatal(err)
	}
}

func namespaceNames(t *testing.T, s *Store, prefix string) []string {
	t.Helper()
	all, err := s.Snapshot().Namespaces(prefix)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ns := range all {
		names = append(names, ns.Name)
	}
	return names
}

func TestDefaultNamespaceExistsFromTheStart(t *testing.T) {
	s := mustStore(t)
	ns, err := s.Snapshot().NamespaceByName("default")
	if err != nil {
		t.Fatal(err)
	}
	if ns == nil || ns.Description != "Default shared namespace" || ns.CreateIndex != 1 {
		t.Fatalf("default namespace = %+v", ns)
	}
}

func TestNamespacesListAndUpdate(t *testing.T) {
	s := mustStore(t)
	mustNamespaces(t, s, 10, "prod", "prod-eu", "qa")
	if err := s.UpsertNamespaces(11, &structs.NamespaceUpsertRequest{Namespaces: []*api.Namespace{
		{Name: "prod", Description: "changed", Meta: map[string]string{"owner": "ops"}},
	}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, prefix string
		want         string
	}{
		{"all, by name", "", "default,prod,prod-eu,qa"},
		{"prefix", "prod", "prod,prod-eu"},
		{"no match", "zz", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(namespaceNames(t, s, tc.prefix), ","); got != tc.want {
				t.Fatalf("namespaces = %q, want %q", got, tc.want)
			}
		})
	}
	prod, _ := s.Snapshot().NamespaceByName("prod")
	if prod.CreateIndex != 10 || prod.ModifyIndex != 11 || prod.Description != "changed" || prod.Meta["owner"] != "ops" {
		t.Fatalf("updated namespace = %+v", prod)
	}
	if got := s.Snapshot().NamespacesIndex(); got != 11 {
		t.Fatalf("namespaces index = %d, want 11", got)
	}
}

func TestDeleteNamespaces(t *testing.T) {
	runningJob := func(t *testing.T, s *Store) {
		job := testJob("web", 1)
		job.Namespace = ptr("busy")
		if err := s.JobRegister(20, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		setup   func(t *testing.T, s *Store)
		delete  []string
		wantErr string
		// wantLeft are the namespaces after the delete.
		wantLeft string
	}{
		{"empty namespace", nil, []string{"busy"}, "", "default,empty"},
		{"several at once", nil, []string{"busy", "empty"}, "", "default"},
		{"default", nil, []string{"default"}, "the default namespace can not be deleted", "busy,default,empty"},
		{"unknown", nil, []string{"nope"}, "not found", "busy,default,empty"},
		{"with a job", runningJob, []string{"busy"}, `contains non-terminal job "web"`, "busy,default,empty"},
		{"all or none", runningJob, []string{"empty", "busy"}, `non-terminal job "web"`, "busy,default,empty"},
		{"with a dead job", func(t *testing.T, s *Store) {
			runningJob(t, s)
			if err := s.JobDeregister(21, &structs.JobDeregisterRequest{Namespace: "busy", JobID: "web", Time: 2}); err != nil {
				t.Fatal(err)
			}
		}, []string{"busy"}, "", "default,empty"},
		{"with a live allocation of a purged job", func(t *testing.T, s *Store) {
			runningJob(t, s)
			alloc := &api.Allocation{ID: "a1", Namespace: "busy", JobID: "web", TaskGroup: "web", NodeID: "n1",
				DesiredStatus: "run", ClientStatus: "running"}
			if err := s.ApplyPlanResults(21, &structs.ApplyPlanResultsRequest{Allocs: []*api.Allocation{alloc}, Time: 2}); err != nil {
				t.Fatal(err)
			}
			if err := s.JobDeregister(22, &structs.JobDeregisterRequest{Namespace: "busy", JobID: "web", Purge: true, Time: 3}); err != nil {
				t.Fatal(err)
			}
		}, []string{"busy"}, `non-terminal allocation "a1"`, "busy,default,empty"},
		{"with a variable", func(t *testing.T, s *Store) {
			v := testVar("app/db", "sealed")
			v.Namespace = "busy"
			if err := s.VarApply(20, &structs.VarApplyRequest{Op: structs.VarOpSet, Var: v}); err != nil {
				t.Fatal(err)
			}
		}, []string{"busy"}, `contains variable "app/db"`, "busy,default,empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			mustNamespaces(t, s, 10, "busy", "empty")
			if tc.setup != nil {
				tc.setup(t, s)
			}
			before := s.Snapshot().NamespacesIndex()
			err := s.DeleteNamespaces(30, &structs.NamespaceDeleteRequest{Names: tc.delete})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("delete: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("delete error = %v, want one containing %q", err, tc.wantErr)
			}
			if got := strings.Join(namespaceNames(t, s, ""), ","); got != tc.wantLeft {
				t.Fatalf("namespaces after delete = %q, want %q", got, tc.wantLeft)
			}
			if tc.wantErr != "" && s.Snapshot().NamespacesIndex() != before {
				t.Fatalf("a refused delete moved the namespaces index")
			}
		})
	}
}

func TestRefusedDeleteErrorKinds(t *testing.T) {
	s := mustStore(t)
	var nsErr *NamespaceError
	if err := s.DeleteNamespaces(10, &structs.NamespaceDeleteRequest{Names: []string{"default"}}); !errors.As(err, &nsErr) {
		t.Fatalf("deleting default: %v, want a *NamespaceError", err)
	}
	if err := s.DeleteNamespaces(10, &structs.NamespaceDeleteRequest{Names: []string{"nope"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting an unknown namespace: %v, want ErrNotFound", err)
	}
}

func TestWritesIntoNonexistentNamespaceAreRefused(t *testing.T) {
	cases := []struct {
		name    string
		write   func(s *Store) error
		wantErr string
	}{
		{"job", func(s *Store) error {
			job := testJob("web", 1)
			job.Namespace = ptr("nope")
			return s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1})
		}, `job "web" is in nonexistent namespace "nope"`},
		{"variable", func(s *Store) error {
			v := testVar("app/db", "sealed")
			v.Namespace = "nope"
			return s.VarApply(10, &structs.VarApplyRequest{Op: structs.VarOpSet, Var: v})
		}, `variable "app/db" is in nonexistent namespace "nope"`},
		{"variable check-and-set", func(s *Store) error {
			v := testVar("app/db", "sealed")
			v.Namespace = "nope"
			return s.VarApply(10, &structs.VarApplyRequest{Op: structs.VarOpCAS, Var: v})
		}, `nonexistent namespace "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			err := tc.write(s)
			var nsErr *NamespaceError
			if !errors.As(err, &nsErr) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("write = %v, want a namespace error containing %q", err, tc.wantErr)
			}
			snap := s.Snapshot()
			if job, _ := snap.JobByID("nope", "web"); job != nil {
				t.Fatal("a refused job was stored")
			}
			if v, _ := snap.VarGet("nope", "app/db"); v != nil {
				t.Fatal("a refused variable was stored")
			}
			if snap.LatestIndex() != 0 {
				t.Fatalf("a refused write moved the index to %d", snap.LatestIndex())
			}
		})
	}
}

func TestSameJobIDInTwoNamespaces(t *testing.T) {
	s := mustStore(t)
	mustNamespaces(t, s, 5, "prod")
	for i, ns := range []string{"default", "prod"} {
		job := testJob("web", i+1)
		job.Namespace = ptr(ns)
		if err := s.JobRegister(uint64(10+i), &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
			t.Fatal(err)
		}
		alloc := &api.Allocation{ID: "a-" + ns, Namespace: ns, JobID: "web", TaskGroup: "web", NodeID: "n1",
			DesiredStatus: "run", ClientStatus: "running"}
		if err := s.ApplyPlanResults(uint64(20+i), &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*api.Allocation{alloc}, Time: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.JobDeregister(30, &structs.JobDeregisterRequest{Namespace: "prod", JobID: "web", Purge: true, Time: 3}); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	cases := []struct {
		name                string
		namespace           string
		wantJob             bool
		wantCount, wantAllc int
	}{
		{"default keeps its job", "default", true, 1, 1},
		{"prod's purge touched only prod", "prod", false, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job, err := snap.JobByID(tc.namespace, "web")
			if err != nil {
				t.Fatal(err)
			}
			if (job != nil) != tc.wantJob {
				t.Fatalf("job present = %v, want %v", job != nil, tc.wantJob)
			}
			if job != nil && *job.TaskGroups[0].Count != tc.wantCount {
				t.Fatalf("job of %s has count %d, want %d: the namespaces' jobs were mixed", tc.namespace, *job.TaskGroups[0].Count, tc.wantCount)
			}
			allocs, _ := snap.AllocsByJob(tc.namespace, "web")
			if len(allocs) != tc.wantAllc || allocs[0].ID != "a-"+tc.namespace {
				t.Fatalf("allocations of %s/web = %d", tc.namespace, len(allocs))
			}
			sum, _ := snap.JobSummary(tc.namespace, "web")
			if (sum != nil) != tc.wantJob {
				t.Fatalf("summary present = %v, want %v", sum != nil, tc.wantJob)
			}
		})
	}
	all, _ := snap.Jobs("*", "")
	if len(all) != 1 || *all[0].Namespace != "default" {
		t.Fatalf("jobs of every namespace = %d", len(all))
	}
}

func TestNamespacesSurviveSnapshotRestore(t *testing.T) {
	s := mustStore(t)
	mustNamespaces(t, s, 10, "prod")
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(namespaceNames(t, restored, ""), ","); got != "default,prod" {
		t.Fatalf("restored namespaces = %q", got)
	}
	prod, _ := restored.Snapshot().NamespaceByName("prod")
	if prod.Description != "prod team" || prod.CreateIndex != 10 {
		t.Fatalf("restored prod = %+v", prod)
	}
	if restored.Snapshot().NamespacesIndex() != 10 {
		t.Fatalf("restored namespaces index = %d", restored.Snapshot().NamespacesIndex())
	}
}
