package structs

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestValidateNamespace(t *testing.T) {
	cases := []struct {
		name    string
		ns      *api.Namespace
		wantErr string
	}{
		{"letters digits dashes", &api.Namespace{Name: "Team-42"}, ""},
		{"128 characters", &api.Namespace{Name: strings.Repeat("a", 128)}, ""},
		{"missing", nil, "missing namespace"},
		{"empty name", &api.Namespace{}, `invalid name "".`},
		{"wildcard", &api.Namespace{Name: "*"}, `invalid name "*".`},
		{"underscore", &api.Namespace{Name: "a_b"}, `invalid name "a_b"`},
		{"slash", &api.Namespace{Name: "a/b"}, `invalid name "a/b"`},
		{"129 characters", &api.Namespace{Name: strings.Repeat("a", 129)}, "invalid name"},
		{"long description", &api.Namespace{Name: "ok", Description: strings.Repeat("d", 257)}, "description longer than 256 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateNamespace(tc.ns)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckNamespaceCapabilities(t *testing.T) {
	job := func(driver, mode, pool string) *api.Job {
		tg := &api.TaskGroup{Name: ptrOf("g"), Tasks: []*api.Task{{Name: "t", Driver: driver}}}
		if mode != "-" {
			tg.Networks = []*api.NetworkResource{{Mode: mode}}
		}
		return &api.Job{ID: ptrOf("j"), NodePool: ptrOf(pool), TaskGroups: []*api.TaskGroup{tg}}
	}
	drivers := &api.NamespaceCapabilities{EnabledTaskDrivers: []string{"raw_exec", "exec"}, DisabledNetworkModes: []string{"host"}}
	denyDocker := &api.NamespaceCapabilities{DisabledTaskDrivers: []string{"docker"}}
	cases := []struct {
		name    string
		ns      *api.Namespace
		job     *api.Job
		wantErr string
	}{
		{"no capabilities allow anything", &api.Namespace{Name: "n"}, job("docker", "", "gpu"), ""},
		{"an enabled driver", &api.Namespace{Name: "n", Capabilities: drivers}, job("exec", "bridge", "default"), ""},
		{"a driver outside the enabled ones", &api.Namespace{Name: "n", Capabilities: drivers}, job("docker", "bridge", "default"),
			`used task driver "docker" is not allowed in namespace "n"`},
		{"a disabled driver", &api.Namespace{Name: "n", Capabilities: denyDocker}, job("docker", "-", "default"),
			`used task driver "docker" is not allowed`},
		{"host is the default network mode", &api.Namespace{Name: "n", Capabilities: drivers}, job("exec", "", "default"),
			`used group network mode "host" is not allowed in namespace "n"`},
		{"allowed pools by glob", &api.Namespace{Name: "n", NodePoolConfiguration: &api.NamespaceNodePoolConfiguration{Allowed: []string{"gpu-*"}}},
			job("exec", "-", "gpu-a100"), ""},
		{"the default pool is always allowed", &api.Namespace{Name: "n", NodePoolConfiguration: &api.NamespaceNodePoolConfiguration{Allowed: []string{}}},
			job("exec", "-", "default"), ""},
		{"a pool outside the allowed ones", &api.Namespace{Name: "n", NodePoolConfiguration: &api.NamespaceNodePoolConfiguration{Allowed: []string{"gpu-*"}}},
			job("exec", "-", "cpu"), `namespace "n" does not allow jobs to use node pool "cpu"`},
		{"a denied pool", &api.Namespace{Name: "n", NodePoolConfiguration: &api.NamespaceNodePoolConfiguration{Denied: []string{"*-prod"}}},
			job("exec", "-", "eu-prod"), `node pool "eu-prod"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNamespaceCapabilities(tc.ns, tc.job)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, v string
		want       bool
	}{
		{"gpu", "gpu", true},
		{"gpu", "gpu-1", false},
		{"gpu-*", "gpu-1", true},
		{"*-prod", "eu-prod", true},
		{"*-prod", "eu-prod-2", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxcyyb", false},
		{"*", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.pattern+" "+tc.v, func(t *testing.T) {
			if got := globMatch(tc.pattern, tc.v); got != tc.want {
				t.Fatalf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.v, got, tc.want)
			}
		})
	}
}

func ptrOf[T any](v T) *T { return &v }
