//go:build browser && linux

package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestBrowserIngress runs two services claiming one ingress host, the
// first in bridge mode: the Ingress page lists the route with its instance
// and the conflict, and the allocation pages show the bridge allocation's
// cluster address and each allocation's route state.
func TestBrowserIngress(t *testing.T) {
	port := freePorts(t, 1)[0]
	agent := startAgentWith(t, fmt.Sprintf("client {\n  ingress {\n    enabled   = true\n    http_port = %d\n  }\n}\n", port))
	c := agent.client
	service := func(job *api.Job, name string) {
		job.TaskGroups[0].Services = []*api.Service{{Name: name, PortLabel: "http", Provider: "nomad", Tags: []string{"ingress.host=app.test"}}}
	}
	web := loopJob("ui-web", 1, "web")
	web.TaskGroups[0].Networks = []*api.NetworkResource{{Mode: "bridge", DynamicPorts: []api.Port{{Label: "http", To: 8080}}}}
	service(web, "ui-web")
	if _, _, err := c.Jobs().Register(web, nil); err != nil {
		t.Fatalf("register: %v", err)
	}
	webAlloc := runningAllocs(t, c, "ui-web", 1)[0]
	var address string
	waitUntil(t, 30*time.Second, "the bridge allocation reports its address and the route exists", func() error {
		a, _, err := c.Allocations().Info(webAlloc.ID, nil)
		if err != nil {
			return err
		}
		if a.NetworkStatus == nil || a.NetworkStatus.Address == "" {
			return fmt.Errorf("no network address yet")
		}
		address = a.NetworkStatus.Address
		return routeHas(c, "ui-web", "")
	})
	intruder := loopJob("ui-intruder", 1, "intruder")
	intruder.TaskGroups[0].Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
	service(intruder, "ui-intruder")
	if _, _, err := c.Jobs().Register(intruder, nil); err != nil {
		t.Fatalf("register: %v", err)
	}
	intruderAlloc := runningAllocs(t, c, "ui-intruder", 1)[0]
	waitUntil(t, 30*time.Second, "the newer service is reported as a conflict", func() error { return routeHas(c, "ui-web", "default/ui-intruder") })

	b := newBrowser(t, agent.url)
	b.open(t, "/ui/ingress")
	b.waitFor(t, "the ingress page lists the route, its instance and the conflict",
		mainHas("app.test", "default/ui-web", "lost: default/ui-intruder")+
			fmt.Sprintf(` && !!document.querySelector('main a[href="/ui/allocations/%s"]')`, webAlloc.ID))
	b.screenshot(t, "ingress")
	b.open(t, "/ui/allocations/"+webAlloc.ID)
	b.waitFor(t, "the allocation page shows its cluster address and active route",
		mainHas("Ingress routes", "app.test", "active")+
			fmt.Sprintf(` && document.querySelector('main [data-field="cluster-address"]')?.textContent === %q`, address))
	b.screenshot(t, "alloc-ingress")
	b.open(t, "/ui/allocations/"+intruderAlloc.ID)
	b.waitFor(t, "the losing allocation's page shows the conflict", mainHas("Ingress routes", "lost to default/ui-web"))
}

// routeHas reports (as an error) whether the agent's route for app.test
// belongs to service and, when conflict is set, lists it as a loser.
func routeHas(c *api.Client, service, conflict string) error {
	var routes []struct {
		Host, Service string
		Conflicts     []string
	}
	if _, err := c.Raw().Query("/v1/ingress/routes", &routes, nil); err != nil {
		return err
	}
	for _, r := range routes {
		if r.Host != "app.test" || r.Service != service {
			continue
		}
		if conflict == "" {
			return nil
		}
		for _, x := range r.Conflicts {
			if x == conflict {
				return nil
			}
		}
	}
	return fmt.Errorf("routes: %+v", routes)
}
