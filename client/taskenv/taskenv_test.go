package taskenv

import (
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
)

func strp(s string) *string { return &s }

func testEnv() *Env {
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
	return Build(Input{Alloc: alloc, Task: task, Node: node, AllocDir: ad, TaskDir: ad.TaskDir("srv")})
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
