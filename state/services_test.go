package state

import (
	"bytes"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func testService(id, ns, name, alloc, node string, port int) *api.ServiceRegistration {
	return &api.ServiceRegistration{ID: id, Namespace: ns, ServiceName: name, AllocID: alloc, NodeID: node,
		JobID: "job", Address: "127.0.0.1", Port: port, Tags: []string{"a"}}
}

// seedServices stores three registrations: web on two allocs, db on one,
// and web in another namespace.
func seedServices(t *testing.T, s *Store) {
	t.Helper()
	req := &structs.ServiceRegistrationUpsertRequest{Services: []*api.ServiceRegistration{
		testService("s1", "default", "web", "a1", "n1", 8001),
		testService("s2", "default", "web", "a2", "n2", 8002),
		testService("s3", "default", "db", "a1", "n1", 5432),
		testService("s4", "prod", "web", "a3", "n1", 8003),
	}}
	if err := s.UpsertServiceRegistrations(10, req); err != nil {
		t.Fatal(err)
	}
}

func ids(regs []*api.ServiceRegistration) []string {
	out := []string{}
	for _, r := range regs {
		out = append(out, r.ID)
	}
	return out
}

func TestServiceRegistrationLookups(t *testing.T) {
	s := mustStore(t)
	seedServices(t, s)
	snap := s.Snapshot()
	cases := []struct {
		name  string
		query func() ([]*api.ServiceRegistration, error)
		want  []string
	}{
		{"namespace lists by name then ID", func() ([]*api.ServiceRegistration, error) { return snap.ServiceRegistrations("default") }, []string{"s3", "s1", "s2"}},
		{"wildcard namespace lists all", func() ([]*api.ServiceRegistration, error) { return snap.ServiceRegistrations("*") }, []string{"s3", "s1", "s2", "s4"}},
		{"by name stays in its namespace", func() ([]*api.ServiceRegistration, error) { return snap.ServiceRegistrationsByName("prod", "web") }, []string{"s4"}},
		{"by name in default", func() ([]*api.ServiceRegistration, error) { return snap.ServiceRegistrationsByName("default", "web") }, []string{"s1", "s2"}},
		{"unknown name is empty", func() ([]*api.ServiceRegistration, error) { return snap.ServiceRegistrationsByName("default", "we") }, []string{}},
		{"by alloc", func() ([]*api.ServiceRegistration, error) { return snap.ServiceRegistrationsByAlloc("a1") }, []string{"s3", "s1"}},
		{"by node", func() ([]*api.ServiceRegistration, error) { return snap.ServiceRegistrationsByNode("n1") }, []string{"s3", "s1", "s4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.query()
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !equalStrings(g, tc.want) {
				t.Errorf("got %v, want %v", g, tc.want)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestServiceRegistrationWrites(t *testing.T) {
	cases := []struct {
		name      string
		write     func(s *Store) error
		wantIDs   []string
		wantIndex uint64
	}{
		{"identical upsert keeps the index", func(s *Store) error {
			return s.UpsertServiceRegistrations(20, &structs.ServiceRegistrationUpsertRequest{
				Services: []*api.ServiceRegistration{testService("s1", "default", "web", "a1", "n1", 8001)}})
		}, []string{"s3", "s1", "s2", "s4"}, 10},
		{"changed upsert bumps the index", func(s *Store) error {
			return s.UpsertServiceRegistrations(20, &structs.ServiceRegistrationUpsertRequest{
				Services: []*api.ServiceRegistration{testService("s1", "default", "web", "a1", "n1", 9001)}})
		}, []string{"s3", "s1", "s2", "s4"}, 20},
		{"delete by ID", func(s *Store) error {
			return s.DeleteServiceRegistrations(20, &structs.ServiceRegistrationDeleteRequest{IDs: []string{"s2", "missing"}})
		}, []string{"s3", "s1", "s4"}, 20},
		{"delete by alloc", func(s *Store) error {
			return s.DeleteServiceRegistrations(20, &structs.ServiceRegistrationDeleteRequest{AllocIDs: []string{"a1"}})
		}, []string{"s2", "s4"}, 20},
		{"deleting nothing keeps the index", func(s *Store) error {
			return s.DeleteServiceRegistrations(20, &structs.ServiceRegistrationDeleteRequest{IDs: []string{"missing"}})
		}, []string{"s3", "s1", "s2", "s4"}, 10},
		{"terminal client update removes the alloc's services", func(s *Store) error {
			return s.AllocClientUpdate(20, &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{{ID: "a1", ClientStatus: "complete"}}})
		}, []string{"s2", "s4"}, 20},
		{"running client update keeps them", func(s *Store) error {
			return s.AllocClientUpdate(20, &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{{ID: "a1", ClientStatus: "running"}}})
		}, []string{"s3", "s1", "s2", "s4"}, 10},
		{"alloc GC removes the alloc's services", func(s *Store) error {
			return s.GC(20, &structs.GCRequest{AllocIDs: []string{"a2"}})
		}, []string{"s3", "s1", "s4"}, 20},
		{"upsert without ID fails and changes nothing", func(s *Store) error {
			err := s.UpsertServiceRegistrations(20, &structs.ServiceRegistrationUpsertRequest{
				Services: []*api.ServiceRegistration{testService("s9", "default", "x", "a9", "n1", 1), {ServiceName: "bad"}}})
			if err == nil {
				t.Error("upsert without ID: want an error")
			}
			return nil
		}, []string{"s3", "s1", "s2", "s4"}, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStore(t)
			seedServices(t, s)
			if err := tc.write(s); err != nil {
				t.Fatal(err)
			}
			snap := s.Snapshot()
			all, err := snap.ServiceRegistrations("*")
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(all); !equalStrings(g, tc.wantIDs) {
				t.Errorf("registrations = %v, want %v", g, tc.wantIDs)
			}
			if got := snap.ServicesIndex(); got != tc.wantIndex {
				t.Errorf("services index = %d, want %d", got, tc.wantIndex)
			}
		})
	}
}

func TestServiceRegistrationsSurviveSnapshotRestore(t *testing.T) {
	s := mustStore(t)
	seedServices(t, s)
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := restored.Snapshot().ServiceRegistrationsByName("default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !equalStrings(g, []string{"s1", "s2"}) || got[0].Port != 8001 || got[0].CreateIndex != 10 {
		t.Errorf("restored = %v (%+v)", g, got)
	}
}
