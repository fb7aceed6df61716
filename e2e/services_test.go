package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// webServiceJob is a shell job whose group has a dynamic port "http" and a
// Nomad-provider service "web" on it, with checks that pass (a service is
// published only while its checks pass): a tcp one and an http one on the
// agent's own port.
func webServiceJob(id string, agentPort string) *api.Job {
	job := shellJob(id, "service", 1, "sleep 600")
	group := job.TaskGroups[0]
	group.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
	group.Services = []*api.Service{{Name: "web", PortLabel: "http", Provider: "nomad", Tags: []string{"edge", "v1"},
		Checks: []api.ServiceCheck{
			{Name: "port", Type: "tcp", PortLabel: agentPort, Interval: time.Second, Timeout: time.Second},
			{Name: "agent", Type: "http", PortLabel: agentPort, Path: "/v1/agent/health", Interval: time.Second, Timeout: time.Second},
		}}}
	return job
}

func TestServiceDiscoveryNomadProvider(t *testing.T) {
	a := startDevAgent(t, "")
	agentPort := a.addr[strings.LastIndex(a.addr, ":")+1:]
	if _, _, err := a.client.Jobs().Register(webServiceJob("svc", agentPort), nil); err != nil {
		t.Fatal(err)
	}
	var alloc *api.Allocation
	waitUntil(t, 60*time.Second, "a running allocation", func() bool {
		allocs := a.allocsOf(t, "svc")
		if countStatus(allocs, "running") != 1 {
			return false
		}
		var err error
		alloc, _, err = a.client.Allocations().Info(allocs[0].ID, nil)
		return err == nil
	})
	ports := alloc.AllocatedResources.Shared.Ports
	if len(ports) != 1 || ports[0].Label != "http" || ports[0].Value == 0 {
		t.Fatalf("allocated ports = %+v, want one dynamic port labelled http", ports)
	}
	want := fmt.Sprintf("%s:%d", ports[0].HostIP, ports[0].Value)

	var regs []*api.ServiceRegistration
	waitUntil(t, 30*time.Second, "the web service registration", func() bool {
		var err error
		regs, _, err = a.client.Services().Get("web", nil)
		return err == nil && len(regs) == 1
	})
	r := regs[0]
	if got := fmt.Sprintf("%s:%d", r.Address, r.Port); got != want || r.AllocID != alloc.ID || r.JobID != "svc" ||
		r.Namespace != "default" || r.NodeID != alloc.NodeID || strings.Join(r.Tags, ",") != "edge,v1" {
		t.Errorf("registration = %+v, want %s for alloc %s", r, want, alloc.ID)
	}

	t.Run("services list", func(t *testing.T) {
		stubs, _, err := a.client.Services().List(nil)
		if err != nil || len(stubs) != 1 || len(stubs[0].Services) != 1 || stubs[0].Services[0].ServiceName != "web" {
			t.Fatalf("list = %+v, %v", stubs, err)
		}
		out, code := a.roam(t, "service", "list")
		if code != 0 || !strings.Contains(out, "Service Name") || !strings.Contains(out, "web") || !strings.Contains(out, "[edge,v1]") {
			t.Errorf("service list (exit %d):\n%s", code, out)
		}
		out, code = a.roam(t, "service", "info", "web")
		if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, alloc.ID[:8]) {
			t.Errorf("service info (exit %d), want %s:\n%s", code, want, out)
		}
	})
	t.Run("checks report through the client API", func(t *testing.T) {
		want := map[string]string{"port": "success", "agent": "success"}
		got := map[string]string{}
		waitUntil(t, 30*time.Second, "check results", func() bool {
			checks, err := a.client.Allocations().Checks(alloc.ID, nil)
			if err != nil {
				return false
			}
			for _, c := range checks {
				got[c.Check] = c.Status
			}
			return got["port"] == want["port"] && got["agent"] == want["agent"]
		})
	})
	t.Run("tag filter and choose", func(t *testing.T) {
		var tagged []*api.ServiceRegistration
		if _, err := a.client.Raw().Query("/v1/service/web?tag=nope", &tagged, nil); err != nil || len(tagged) != 0 {
			t.Errorf("tag=nope: %d registrations, %v", len(tagged), err)
		}
		if _, err := a.client.Raw().Query("/v1/service/web?choose=1|k", &tagged, nil); err != nil || len(tagged) != 1 {
			t.Errorf("choose=1|k: %d registrations, %v", len(tagged), err)
		}
	})

	if out, code := a.roam(t, "job", "stop", "svc"); code != 0 {
		t.Fatalf("job stop (exit %d):\n%s", code, out)
	}
	waitUntil(t, 60*time.Second, "the registration to go", func() bool {
		regs, _, err := a.client.Services().Get("web", nil)
		return err == nil && len(regs) == 0
	})
	if out, code := a.roam(t, "service", "list"); code != 0 || !strings.Contains(out, "No service registrations found") {
		t.Errorf("service list after stop (exit %d):\n%s", code, out)
	}
}
