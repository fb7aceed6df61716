package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

func nsLiveAllocs(t *testing.T, s *Server, namespace, jobID string) int {
	t.Helper()
	allocs, err := s.State().Snapshot().AllocsByJob(namespace, jobID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range allocs {
		if !structs.AllocTerminal(a) {
			n++
		}
	}
	return n
}

func TestSameJobIDInTwoNamespacesSchedulesBoth(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertNamespaces([]*api.Namespace{{Name: "prod"}}); err != nil {
		t.Fatal(err)
	}
	for ns, count := range map[string]int{"default": 1, "prod": 2} {
		job := testJob("web", count, 128)
		job.Namespace = ptr(ns)
		if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both namespaces placed", func() bool {
		return nsLiveAllocs(t, s, "default", "web") == 1 && nsLiveAllocs(t, s, "prod", "web") == 2
	})
	if _, _, err := s.DeregisterJob("", "prod", "web", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "prod stopped", func() bool { return nsLiveAllocs(t, s, "prod", "web") == 0 })
	if got := nsLiveAllocs(t, s, "default", "web"); got != 1 {
		t.Fatalf("stopping prod/web left default/web with %d live allocations, want 1", got)
	}
}

func TestNamespaceRequestsRefused(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.UpsertNamespaces([]*api.Namespace{{Name: "busy"},
		{Name: "docker-only", Capabilities: &api.NamespaceCapabilities{EnabledTaskDrivers: []string{"docker"}}}}); err != nil {
		t.Fatal(err)
	}
	busyJob := testJob("web", 1, 128)
	busyJob.Namespace = ptr("busy")
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: busyJob}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		call    func() error
		wantIs  error
		wantMsg string
	}{
		{"name with a star", func() error {
			_, err := s.UpsertNamespaces([]*api.Namespace{{Name: "*"}})
			return err
		}, ErrInvalid, `invalid name "*".`},
		{"name with a dot", func() error {
			_, err := s.UpsertNamespaces([]*api.Namespace{{Name: "a.b"}})
			return err
		}, ErrInvalid, `invalid name "a.b"`},
		{"name too long", func() error {
			_, err := s.UpsertNamespaces([]*api.Namespace{{Name: strings.Repeat("a", 129)}})
			return err
		}, ErrInvalid, "invalid name"},
		{"description too long", func() error {
			_, err := s.UpsertNamespaces([]*api.Namespace{{Name: "ok", Description: strings.Repeat("d", 257)}})
			return err
		}, ErrInvalid, "description longer than 256"},
		{"delete default", func() error {
			_, err := s.DeleteNamespaces([]string{"default"})
			return err
		}, ErrInvalid, "default namespace can not be deleted"},
		{"delete unknown", func() error {
			_, err := s.DeleteNamespaces([]string{"nope"})
			return err
		}, state.ErrNotFound, `namespace "nope"`},
		{"delete with a job", func() error {
			_, err := s.DeleteNamespaces([]string{"busy"})
			return err
		}, ErrInvalid, `non-terminal job "web"`},
		{"job in an unknown namespace", func() error {
			job := testJob("web", 1, 128)
			job.Namespace = ptr("nope")
			_, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job})
			return err
		}, ErrInvalid, `job "web" is in nonexistent namespace "nope"`},
		{"driver the namespace does not enable", func() error {
			job := testJob("web", 1, 128)
			job.Namespace = ptr("docker-only")
			_, err := s.RegisterJob(&structs.JobRegisterArgs{Job: job})
			return err
		}, ErrInvalid, `used task driver "raw_exec" is not allowed in namespace "docker-only"`},
		{"plan in an unknown namespace", func() error {
			job := testJob("web", 1, 128)
			job.Namespace = ptr("nope")
			_, err := s.PlanJob(job, false)
			return err
		}, ErrInvalid, `nonexistent namespace "nope"`},
		{"variable in an unknown namespace", func() error {
			_, err := s.ApplyVar(&structs.VarApplyArgs{Op: structs.VarOpSet, Var: &api.Variable{Namespace: "nope", Path: "a", Items: map[string]string{"k": "v"}}})
			return err
		}, ErrInvalid, `variable "a" is in nonexistent namespace "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stored := func() uint64 { return s.State().Snapshot().Index("namespaces", "jobs", "variables") }
			before := stored()
			err := tc.call()
			if !errors.Is(err, tc.wantIs) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error = %v, want %v containing %q", err, tc.wantIs, tc.wantMsg)
			}
			if after := stored(); after != before {
				t.Fatalf("a refused request changed the state (index %d to %d)", before, after)
			}
		})
	}
	names, _ := s.State().Snapshot().Namespaces("")
	if len(names) != 3 {
		t.Fatalf("namespaces after refused requests = %d, want default, busy and docker-only", len(names))
	}
}
