package server

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func TestSubnetLeases(t *testing.T) {
	s := testServer(t, time.Minute)
	for _, id := range []string{"n1", "n2", "n3"} {
		if _, err := s.RegisterNode(testNode(id, 4096)); err != nil {
			t.Fatal(err)
		}
	}
	lease := func(node, cidr, vtep string) (*structs.SubnetLease, error) {
		return s.LeaseSubnet(&structs.SubnetLeaseArgs{NodeID: node, CIDR: cidr, VTEP: vtep, VTEPMAC: "02:00:00:00:00:01"})
	}
	cases := []struct {
		name, node, cidr, vtep string
		want                   string
		wantErr                bool
	}{
		{"first node gets the first /24", "n1", "10.42.0.0/16", "192.0.2.1", "10.42.0.0/24", false},
		{"second node the next", "n2", "10.42.0.0/16", "192.0.2.2", "10.42.1.0/24", false},
		{"asking again keeps the lease", "n1", "10.42.0.0/16", "192.0.2.1", "10.42.0.0/24", false},
		{"a new underlay address keeps the subnet", "n1", "10.42.0.0/16", "192.0.2.9", "10.42.0.0/24", false},
		{"a network smaller than a /24 is refused", "n3", "10.42.0.0/25", "192.0.2.3", "", true},
		{"a full network is refused", "n3", "10.42.0.0/23", "192.0.2.3", "", true},
		{"not a CIDR", "n3", "ten-forty-two", "192.0.2.3", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := lease(tc.node, tc.cidr, tc.vtep)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("lease = %+v, want an error", l)
				}
				return
			}
			if err != nil || l.Subnet != tc.want || l.VTEP != tc.vtep {
				t.Fatalf("lease = %+v, %v; want %s at %s", l, err, tc.want, tc.vtep)
			}
		})
	}

	leases, index, err := s.LiveSubnetLeases(context.Background(), 0, 0)
	if err != nil || len(leases) != 2 {
		t.Fatalf("live leases = %+v, %v; want n1 and n2", leases, err)
	}
	// A node going down wakes the watchers and drops out of the list.
	done := make(chan []*structs.SubnetLease, 1)
	go func() {
		l, _, _ := s.LiveSubnetLeases(context.Background(), index, 10*time.Second)
		done <- l
	}()
	if err := s.updateNodeStatus("n2", structs.NodeStatusDown, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-done:
		if len(l) != 1 || l[0].NodeID != "n1" {
			t.Fatalf("live leases after n2 went down = %+v, want n1's only", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocking query did not wake when a node went down")
	}
}

func TestAllocAddresses(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("web", 1, 128)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	alloc := liveAllocs(t, s, "web")[0]
	report := func(status string) {
		t.Helper()
		err := s.UpdateAllocations([]*api.Allocation{{ID: alloc.ID, NodeID: "n", ClientStatus: status,
			NetworkStatus: &api.AllocNetworkStatus{InterfaceName: "eth0", Address: "10.42.0.2"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	addresses := func() []*structs.AllocAddress {
		t.Helper()
		out, _, err := s.AllocAddresses(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name     string
		act      func()
		want     int
		services int
	}{
		{"no address reported yet", func() {}, 0, 0},
		{"a running allocation's address", func() { report("running") }, 1, 0},
		{"with the services it registered", func() {
			if err := s.UpsertServiceRegistrations([]*api.ServiceRegistration{{ID: "r1", ServiceName: "web",
				NodeID: "n", JobID: "web", AllocID: alloc.ID, Address: "10.42.0.2", Port: 80}}); err != nil {
				t.Fatal(err)
			}
		}, 1, 1},
		{"a finished allocation has none", func() { report("complete") }, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.act()
			got := addresses()
			if len(got) != tc.want {
				t.Fatalf("addresses = %+v, want %d", got, tc.want)
			}
			if tc.want == 1 && (got[0].Address != "10.42.0.2" || got[0].Namespace != "default" || len(got[0].Services) != tc.services) {
				t.Fatalf("address = %+v, want 10.42.0.2 in default with %d services", got[0], tc.services)
			}
		})
	}
}
