package command

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/ingress"
)

func TestIngressOutputFormats(t *testing.T) {
	reg := func(ns, svc, alloc, addr string, tags ...string) *api.ServiceRegistration {
		return &api.ServiceRegistration{Namespace: ns, ServiceName: svc, AllocID: alloc, Address: addr, Port: 8080, Tags: tags}
	}
	routes := []ingress.RouteView{
		{Host: "app.test", Path: "/", Namespace: "default", Service: "web",
			Instances: []ingress.Instance{{AllocID: "aaaaaaaa-1", Address: "10.42.0.2:8080"}}, Conflicts: []string{"prod/intruder"},
			Stats: ingress.Stats{Requests: 12, Failures: 1}, Certificate: "nomad/ingress/certs/app"},
	}
	regs := []*api.ServiceRegistration{
		reg("default", "web", "aaaaaaaa-1", "10.42.0.2", "ingress.host=app.test"),
		reg("default", "web", "bbbbbbbb-2", "10.42.1.2", "ingress.host=app.test"),
		reg("prod", "intruder", "cccccccc-3", "10.42.2.2", "ingress.host=app.test"),
		reg("default", "plain", "dddddddd-4", "10.42.3.2"),
	}
	cases := []struct {
		name string
		got  string
		want []string
	}{
		{"ingress list shows the conflict", formatIngressRoutes(routes), []string{
			"Host      Path  Service      Instances  Requests  Failures  Certificate              Conflicts",
			"app.test  /     default/web  1          12        1         nomad/ingress/certs/app  lost: prod/intruder"}},
		{"alloc status: the route's instance is active", formatIngressInstances(regs[:1], routes, true), []string{
			"Service  Address         Host      Path  Route", "web      10.42.0.2:8080  app.test  /     active"}},
		{"alloc status: not in the table yet", formatIngressInstances(regs[1:2], routes, true), []string{"not routed"}},
		{"alloc status: the losing service", formatIngressInstances(regs[2:3], routes, true), []string{"lost to default/web"}},
		{"alloc status: agent without ingress", formatIngressInstances(regs[:1], nil, false), []string{"app.test  /     -"}},
		{"alloc status: no ingress service", formatIngressInstances(regs[3:], routes, true), nil},
		{"service info: cluster addresses and routes", formatServiceAllocations(regs, map[string]string{"aaaaaaaa-1": "10.42.0.2"}, routes, true), []string{
			"Alloc ID  Cluster Address  Ingress    Route",
			"aaaaaaaa  10.42.0.2        app.test/  active",
			"bbbbbbbb  -                app.test/  not routed",
			"dddddddd  -                -          -"}},
		{"service info: nothing to add", formatServiceAllocations(regs[3:], nil, nil, false), nil},
		{"alloc status: the routes follow the header", formatAllocStatus(&api.Allocation{ID: "aaaaaaaa-1", TaskStates: map[string]*api.TaskState{"web": {State: "running"}}},
			nil, allocView{ingress: formatIngressInstances(regs[:1], routes, true)}, time.Now()), []string{
			"Modified            = <none>\n\nIngress Routes\nService  Address         Host      Path  Route\nweb      10.42.0.2:8080  app.test  /     active\n\nTask \"web\""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == nil && tc.got != "" {
				t.Fatalf("got:\n%s\nwant nothing", tc.got)
			}
			for _, w := range tc.want {
				if !strings.Contains(tc.got, w) {
					t.Errorf("got:\n%s\nwant a line:\n%s", tc.got, w)
				}
			}
		})
	}
}
