package server

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/rpcservers"
	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
)

func TestServiceRegistrationLifecycle(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 1, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	alloc := liveAllocs(t, s, "web")[0]
	reg := func(id string, allocID string) *api.ServiceRegistration {
		return &api.ServiceRegistration{ID: id, ServiceName: "web", NodeID: "n", JobID: "web", AllocID: allocID, Address: "127.0.0.1", Port: 8080}
	}
	services := func() []*api.ServiceRegistration {
		regs, err := s.State().Snapshot().ServiceRegistrationsByName("default", "web")
		if err != nil {
			t.Fatal(err)
		}
		return regs
	}

	cases := []struct {
		name    string
		act     func() error
		wantErr error
		want    int
	}{
		{"registration of a live alloc is stored", func() error {
			return s.UpsertServiceRegistrations([]*api.ServiceRegistration{reg("s1", alloc.ID)})
		}, nil, 1},
		{"registration of an unknown alloc is dropped", func() error {
			return s.UpsertServiceRegistrations([]*api.ServiceRegistration{reg("s2", "no-such-alloc")})
		}, nil, 1},
		{"registration without an ID is invalid", func() error {
			return s.UpsertServiceRegistrations([]*api.ServiceRegistration{reg("", alloc.ID)})
		}, ErrInvalid, 1},
		{"operator delete in the wrong namespace is not found", func() error {
			_, err := s.DeleteServiceRegistrations("prod", []string{"s1"})
			return err
		}, ErrNotFound, 1},
		{"client delete of a missing ID is a no-op", func() error {
			_, err := s.DeleteServiceRegistrations("", []string{"missing"})
			return err
		}, nil, 1},
		{"alloc turning complete removes its services", func() error {
			return s.UpdateAllocations([]*api.Allocation{{ID: alloc.ID, NodeID: "n", ClientStatus: structs.AllocClientStatusComplete}})
		}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.act(); !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			waitFor(t, "registrations", func() bool { return len(services()) == tc.want })
		})
	}
}

// TestServiceRegistrationOverRPC publishes and withdraws a registration
// the way a remote client does: through rpcservers to the RPC endpoint.
func TestServiceRegistrationOverRPC(t *testing.T) {
	addr := freeAddr(t)
	s, err := New(Config{
		NodeName: "svc.global", Region: "global", Datacenter: "dc1", RPCAddr: addr, NumSchedulers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	waitFor(t, "leadership", func() bool { return s.IsLeader() })
	remote, err := rpcservers.New([]string{addr}, rpc.DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	remote.Identify("n", "node-n-secret")
	if _, err := remote.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 1, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	alloc := liveAllocs(t, s, "web")[0]
	reg := &api.ServiceRegistration{ID: "s1", ServiceName: "web", NodeID: "n", JobID: "web", AllocID: alloc.ID, Address: "127.0.0.1", Port: 8080}
	if err := remote.UpsertServiceRegistrations([]*api.ServiceRegistration{reg}); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.State().Snapshot().ServiceRegistrationByID("s1")
	if stored == nil || stored.Port != 8080 || stored.Namespace != "default" {
		t.Fatalf("stored = %+v", stored)
	}
	if _, err := remote.DeleteServiceRegistrations("prod", []string{"s1"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("delete in another namespace: %v, want not found", err)
	}
	if _, err := remote.DeleteServiceRegistrations("", []string{"s1"}); err != nil {
		t.Fatal(err)
	}
	if stored, _ := s.State().Snapshot().ServiceRegistrationByID("s1"); stored != nil {
		t.Fatalf("still stored after delete: %+v", stored)
	}
}
