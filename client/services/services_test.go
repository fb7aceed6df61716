package services

import (
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/client/clienttest"
)

func testSource(t *testing.T, groupServices []*api.Service, task *api.Task) Source {
	alloc := clienttest.Alloc("node-1", "service", task)
	alloc.Job.TaskGroups[0].Services = groupServices
	node := &api.Node{ID: "node-1", Datacenter: "dc1", Attributes: map[string]string{"unique.network.ip-address": "10.0.0.5"}}
	return Source{Alloc: alloc, Node: node, Region: "global", AllocDir: allocdir.New(t.TempDir(), alloc.ID)}
}

func TestServiceGroupRegistrations(t *testing.T) {
	cases := []struct {
		name     string
		service  *api.Service
		canary   bool
		wantAddr string
		wantPort int
		wantName string
		wantTags string
		wantErr  string
	}{
		{"port label resolves to the allocated port", &api.Service{Name: "web", PortLabel: "http", Provider: "nomad", Tags: []string{"a"}}, false, "127.0.0.1", 25000, "web", "a", ""},
		{"numeric port on the node address", &api.Service{Name: "web", PortLabel: "8080", Provider: "nomad"}, false, "10.0.0.5", 8080, "web", "", ""},
		{"no port", &api.Service{Name: "web", Provider: "nomad"}, false, "10.0.0.5", 0, "web", "", ""},
		{"fixed address", &api.Service{Name: "web", PortLabel: "http", Address: "192.0.2.1", Provider: "nomad"}, false, "192.0.2.1", 25000, "web", "", ""},
		{"name and tags interpolate", &api.Service{Name: "${NOMAD_JOB_NAME}-${NOMAD_GROUP_NAME}", PortLabel: "http", Provider: "nomad", Tags: []string{"dc-${NOMAD_DC}"}}, false, "127.0.0.1", 25000, "example-web", "dc-dc1", ""},
		{"canary tags on a canary", &api.Service{Name: "web", PortLabel: "http", Provider: "nomad", Tags: []string{"live"}, CanaryTags: []string{"canary"}}, true, "127.0.0.1", 25000, "web", "canary", ""},
		{"unknown port label", &api.Service{Name: "web", PortLabel: "grpc", Provider: "nomad"}, false, "", 0, "", "", `port label "grpc"`},
		{"missing name", &api.Service{PortLabel: "http", Provider: "nomad"}, false, "", 0, "", "", "a name is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := testSource(t, []*api.Service{tc.service, {Name: "in-consul", Provider: "consul"}}, clienttest.ShellTask("main", "true"))
			if tc.canary {
				src.Alloc.DeploymentStatus = &api.AllocDeploymentStatus{Canary: true}
			}
			set, err := GroupRegistrations(src)
			regs := set.Registrations
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(regs) != 1 {
				t.Fatalf("got %d registrations, want 1 (consul services are skipped)", len(regs))
			}
			r := regs[0]
			if r.Address != tc.wantAddr || r.Port != tc.wantPort || r.ServiceName != tc.wantName || strings.Join(r.Tags, ",") != tc.wantTags {
				t.Errorf("registration = %+v", r)
			}
			if r.AllocID != src.Alloc.ID || r.NodeID != "node-1" || r.Datacenter != "dc1" || r.JobID != "example" || r.Namespace != "default" ||
				!strings.HasPrefix(r.ID, "_nomad-task-"+src.Alloc.ID+"-group-web-") {
				t.Errorf("registration identity = %+v", r)
			}
		})
	}
}

func TestServiceAddressOnAllocNetworks(t *testing.T) {
	cases := []struct {
		name     string
		mode     string
		allocIP  string
		cluster  bool
		wantAddr string
		wantPort int
	}{
		{"host mode advertises the host port", "", "", false, "127.0.0.1", 25000},
		{"bridge mode advertises the host port by default", "", "172.26.64.2", false, "127.0.0.1", 25000},
		{"bridge mode with address_mode alloc", "alloc", "172.26.64.2", false, "172.26.64.2", 8080},
		{"cluster network advertises the cluster address", "", "10.42.1.2", true, "10.42.1.2", 8080},
		{"address_mode host keeps the host port on the cluster network", "host", "10.42.1.2", true, "127.0.0.1", 25000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &api.Service{Name: "web", PortLabel: "http", Provider: "nomad", AddressMode: tc.mode}
			src := testSource(t, []*api.Service{svc}, clienttest.ShellTask("main", "true"))
			src.AllocAddress, src.ClusterAddress = tc.allocIP, tc.cluster
			src.Alloc.AllocatedResources.Shared.Ports[0].To = 8080
			set, err := GroupRegistrations(src)
			if err != nil || len(set.Registrations) != 1 {
				t.Fatalf("registrations = %+v, %v", set.Registrations, err)
			}
			if r := set.Registrations[0]; r.Address != tc.wantAddr || r.Port != tc.wantPort {
				t.Errorf("advertised %s:%d, want %s:%d", r.Address, r.Port, tc.wantAddr, tc.wantPort)
			}
		})
	}
}

func TestServiceTaskRegistrationsAreNamedAfterTheTask(t *testing.T) {
	task := clienttest.ShellTask("main", "true")
	task.Services = []*api.Service{{Name: "api", PortLabel: "http", Provider: "nomad"}}
	src := testSource(t, nil, task)
	set, err := TaskRegistrations(src, task)
	regs := set.Registrations
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 1 || regs[0].ID != "_nomad-task-"+src.Alloc.ID+"-main-api-http" || regs[0].Port != 25000 {
		t.Fatalf("registrations = %+v", regs)
	}
}

func TestServicePublisher(t *testing.T) {
	reg := func(id string, port int) *api.ServiceRegistration {
		return &api.ServiceRegistration{ID: id, ServiceName: "web", AllocID: "a", Address: "127.0.0.1", Port: port}
	}
	cases := []struct {
		name      string
		partition bool
		steps     [][]*api.ServiceRegistration
		want      []string
	}{
		{"publishes the desired set", false, [][]*api.ServiceRegistration{{reg("s1", 1), reg("s2", 2)}}, []string{"s1:1", "s2:2"}},
		{"withdraws what is no longer wanted", false, [][]*api.ServiceRegistration{{reg("s1", 1), reg("s2", 2)}, {reg("s2", 2)}}, []string{"s2:2"}},
		{"republishes a changed port", false, [][]*api.ServiceRegistration{{reg("s1", 1)}, {reg("s1", 9)}}, []string{"s1:9"}},
		{"retries until the servers are back", true, [][]*api.ServiceRegistration{{reg("s1", 1)}}, []string{"s1:1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			servers := clienttest.NewServers()
			servers.Partition(tc.partition)
			p := NewPublisher(servers, slog.New(slog.NewTextHandler(io.Discard, nil)))
			for _, step := range tc.steps {
				p.SetDesired(step)
			}
			if tc.partition {
				servers.Partition(false)
			}
			waitFor(t, func() bool { return strings.Join(published(servers), " ") == strings.Join(tc.want, " ") })
			p.Close(true)
			if got := published(servers); len(got) != 0 {
				t.Errorf("after close with withdraw: %v", got)
			}
		})
	}
}

func TestServicePublisherCloseWithoutWithdrawKeepsRegistrations(t *testing.T) {
	servers := clienttest.NewServers()
	p := NewPublisher(servers, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.SetDesired([]*api.ServiceRegistration{{ID: "s1", ServiceName: "web", Port: 1}})
	waitFor(t, func() bool { return len(published(servers)) == 1 })
	p.Close(false)
	if got := published(servers); len(got) != 1 {
		t.Errorf("registrations = %v, want s1 kept", got)
	}
}

func published(s *clienttest.Servers) []string {
	var out []string
	for _, r := range s.Services() {
		out = append(out, r.ID+":"+strconv.Itoa(r.Port))
	}
	sort.Strings(out)
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the published registrations")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
