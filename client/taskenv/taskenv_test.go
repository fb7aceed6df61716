package taskenv

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
)

func strp(s string) *string { return &s }

func testEnv() *Env { return testEnvWith(func(*Input) {}) }

func testEnvWith(edit func(*Input)) *Env {
	ad := allocdir.New("/data/alloc", "0123456789abcdef")
	alloc := &api.Allocation{
		ID: "0123456789abcdef", Name: "web.api[2]", Namespace: "default", TaskGroup: "api",
		Job: &api.Job{ID: strp("web"), Name: strp("web"), Region: strp("global"), Meta: map[string]string{"team": "a", "tier-x": "gold"},
			TaskGroups: []*api.TaskGroup{{Name: strp("api"), Meta: map[string]string{"team": "b"}}}},
		AllocatedResources: &api.AllocatedResources{
			Tasks:  map[string]*api.AllocatedTaskResources{"srv": {Cpu: api.AllocatedCpuResources{CpuShares: 500}, Memory: api.AllocatedMemoryResources{MemoryMB: 256}}},
			Shared: api.AllocatedSharedResources{Ports: []api.PortMapping{{Label: "http", Value: 23456, To: 8080, HostIP: "10.0.0.5"}}},
		},
	}
	task := &api.Task{Name: "srv", Env: map[string]string{
		"ADDR": "${NOMAD_ADDR_http}", "KERNEL": "${attr.kernel.name}", "RACK": "${meta.rack}",
		"NODE": "${node.unique.name}", "UNKNOWN": "${nope}", "DC": "${node.datacenter}",
	}}
	node := &api.Node{ID: "n1", Name: "host1", Datacenter: "dc1",
		Attributes: map[string]string{"kernel.name": "linux"}, Meta: map[string]string{"rack": "r7"}}
	in := Input{Alloc: alloc, Task: task, Node: node, AllocDir: ad, TaskDir: ad.TaskDir("srv")}
	edit(&in)
	return Build(in)
}

func TestBuild(t *testing.T) {
	env := testEnv().Map()
	cases := map[string]string{
		"NOMAD_ALLOC_ID":       "0123456789abcdef",
		"NOMAD_SHORT_ALLOC_ID": "01234567",
		"NOMAD_ALLOC_NAME":     "web.api[2]",
		"NOMAD_ALLOC_INDEX":    "2",
		"NOMAD_ALLOC_DIR":      "/data/alloc/0123456789abcdef/alloc",
		"NOMAD_TASK_DIR":       "/data/alloc/0123456789abcdef/srv/local",
		"NOMAD_SECRETS_DIR":    "/data/alloc/0123456789abcdef/srv/secrets",
		"NOMAD_TASK_NAME":      "srv",
		"NOMAD_GROUP_NAME":     "api",
		"NOMAD_JOB_ID":         "web",
		"NOMAD_JOB_NAME":       "web",
		"NOMAD_NAMESPACE":      "default",
		"NOMAD_DC":             "dc1",
		"NOMAD_REGION":         "global",
		"NOMAD_CPU_LIMIT":      "500",
		"NOMAD_MEMORY_LIMIT":   "256",
		"NOMAD_PORT_http":      "8080",
		"NOMAD_HOST_PORT_http": "23456",
		"NOMAD_IP_http":        "10.0.0.5",
		"NOMAD_ADDR_http":      "10.0.0.5:23456",
		"NOMAD_META_team":      "b",
		"NOMAD_META_TEAM":      "b",
		"NOMAD_META_tier_x":    "gold",
		"ADDR":                 "10.0.0.5:23456",
		"KERNEL":               "linux",
		"RACK":                 "r7",
		"NODE":                 "host1",
		"DC":                   "dc1",
		"UNKNOWN":              "${nope}",
	}
	for k, want := range cases {
		t.Run(k, func(t *testing.T) {
			if env[k] != want {
				t.Fatalf("%s = %q, want %q", k, env[k], want)
			}
		})
	}
}

func TestAllocAddressVars(t *testing.T) {
	cases := []struct {
		name      string
		in        func(*Input)
		want      map[string]string
		wantUnset []string
	}{
		{"host mode has no alloc address", func(*Input) {}, map[string]string{"NOMAD_ADDR_http": "10.0.0.5:23456"},
			[]string{"NOMAD_ALLOC_IP_http", "NOMAD_ALLOC_ADDR_http"}},
		{"bridge mode adds the alloc address", func(in *Input) { in.AllocIP = "172.26.64.2" }, map[string]string{
			"NOMAD_ALLOC_IP_http": "172.26.64.2", "NOMAD_ALLOC_ADDR_http": "172.26.64.2:8080",
			"NOMAD_ADDR_http": "10.0.0.5:23456", "NOMAD_HOST_ADDR_http": "10.0.0.5:23456"}, nil},
		{"cluster network addresses everywhere", func(in *Input) { in.AllocIP, in.ClusterIP = "10.42.1.2", true }, map[string]string{
			"NOMAD_ALLOC_ADDR_http": "10.42.1.2:8080", "NOMAD_ADDR_http": "10.42.1.2:8080", "NOMAD_IP_http": "10.42.1.2",
			"NOMAD_HOST_ADDR_http": "10.0.0.5:23456"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnvWith(tc.in).Map()
			for k, want := range tc.want {
				if env[k] != want {
					t.Errorf("%s = %q, want %q", k, env[k], want)
				}
			}
			for _, k := range tc.wantUnset {
				if v, ok := env[k]; ok {
					t.Errorf("%s = %q, want it unset", k, v)
				}
			}
		})
	}
}

func TestReplaceConfig(t *testing.T) {
	got := testEnv().ReplaceConfig(map[string]any{
		"command": "${NOMAD_TASK_DIR}/bin",
		"args":    []any{"--port", "${NOMAD_PORT_http}", 3},
	})
	args := got["args"].([]any)
	if got["command"] != "/data/alloc/0123456789abcdef/srv/local/bin" || args[1] != "8080" || args[2] != 3 {
		t.Fatalf("ReplaceConfig = %#v", got)
	}
}
