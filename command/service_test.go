package command

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestServiceOutputFormats(t *testing.T) {
	stubs := []*api.ServiceRegistrationListStub{
		{Namespace: "default", Services: []*api.ServiceRegistrationStub{{ServiceName: "example-cache-redis", Tags: []string{"cache", "db"}}}},
		{Namespace: "platform", Services: []*api.ServiceRegistrationStub{{ServiceName: "web"}}},
	}
	regs := []*api.ServiceRegistration{{
		ID: "_nomad-task-5f0730ca-b055-52ac-f56e-358f3f7412f6-group-cache-example-cache-redis-db", ServiceName: "example-cache-redis",
		Namespace: "default", JobID: "example", AllocID: "5f0730ca-b055-52ac-f56e-358f3f7412f6",
		NodeID: "7406e90b-de16-d118-80fe-60d0f2730cb3", Datacenter: "dc1", Address: "127.0.0.1", Port: 22686, Tags: []string{"db", "cache"},
	}}
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"list", formatServiceList(stubs[:1], false), "Service Name         Tags\nexample-cache-redis  [cache,db]"},
		{"list all namespaces", formatServiceList(stubs, true),
			"Service Name         Namespace  Tags\nexample-cache-redis  default    [cache,db]\nweb                  platform   []"},
		{"info", formatServiceInfo(regs), "Job ID   Address          Tags        Node ID   Alloc ID\nexample  127.0.0.1:22686  [db,cache]  7406e90b  5f0730ca"},
		{"info verbose address", formatServiceInfoVerbose(regs), "Address      = 127.0.0.1:22686"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.got, tc.want) {
				t.Errorf("got:\n%s\nwant:\n%s", tc.got, tc.want)
			}
		})
	}
}
