package ingress_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/client/services"
	"github.com/roam-project/roam/ingress"
	"github.com/roam-project/roam/jobspec"
)

// canaryJob has a service with an ingress block and canary_tags, and an
// update block that starts one canary.
const canaryJob = `job "web" {
  group "g" {
    update {
      canary = 1
    }
    network {
      port "http" {}
    }
    service {
      name        = "web"
      provider    = "nomad"
      port        = "http"
      tags        = ["stable"]
      canary_tags = ["canary"]
      ingress {
        host = "web.test"
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`

// TestCanariesAreRouted follows a job file's service through the client's
// registrations into the routing table: a canary allocation registers
// with canary_tags, which the ingress block wrote its tags into, so the
// canary is one more instance of the route and takes its share of the
// requests next to the stable instance.
func TestCanariesAreRouted(t *testing.T) {
	job, err := jobspec.Parse("web.nomad.hcl", []byte(canaryJob), nil)
	if err != nil {
		t.Fatal(err)
	}
	node := &api.Node{ID: "node", Datacenter: "dc1", Attributes: map[string]string{"unique.network.ip-address": "127.0.0.1"}}
	var regs []*api.ServiceRegistration
	for _, tc := range []struct {
		name   string
		canary bool
	}{{"stable", false}, {"canary", true}} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tc.name) }))
		t.Cleanup(up.Close)
		_, port, _ := net.SplitHostPort(up.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		alloc := &api.Allocation{ID: tc.name + "-alloc", Namespace: "default", JobID: "web", Job: job, TaskGroup: "g",
			DeploymentStatus:   &api.AllocDeploymentStatus{Canary: tc.canary},
			AllocatedResources: &api.AllocatedResources{Shared: api.AllocatedSharedResources{Ports: []api.PortMapping{{Label: "http", Value: p, HostIP: "127.0.0.1"}}}}}
		set, err := services.GroupRegistrations(services.Source{Alloc: alloc, Node: node, Region: "global", AllocDir: allocdir.New(t.TempDir(), alloc.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Registrations) != 1 {
			t.Fatalf("%s: %d registrations, want 1", tc.name, len(set.Registrations))
		}
		if host, _ := ingress.RouteOf(set.Registrations[0].Tags); host != "web.test" {
			t.Fatalf("%s registers tags %q, want the ingress host among them", tc.name, set.Registrations[0].Tags)
		}
		regs = append(regs, set.Registrations...)
	}
	p := ingress.NewProxy()
	p.Update(regs, nil, nil)
	front := httptest.NewServer(p)
	defer front.Close()
	seen := map[string]int{}
	for range 20 {
		req, _ := http.NewRequest("GET", front.URL, nil)
		req.Host = "web.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[string(b)]++
	}
	if seen["stable"] != 10 || seen["canary"] != 10 {
		t.Fatalf("answers = %v, want the stable instance and the canary round-robin, 10 each", seen)
	}
}
