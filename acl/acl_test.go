package acl

import (
	"strings"
	"testing"
)

func compile(t *testing.T, rules ...string) *ACL {
	t.Helper()
	var ps []*Policy
	for _, r := range rules {
		p, err := Parse(r)
		if err != nil {
			t.Fatalf("parse %q: %v", r, err)
		}
		ps = append(ps, p)
	}
	return Compile(ps)
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, rules, want string
	}{
		{"syntax error names the line", "namespace \"default\" {\n  policy = \"read\"\n  capabilities = [\n}\n", "policy.hcl:4"},
		{"bad namespace policy", "namespace \"default\" {\n\n  policy = \"admin\"\n}", "policy.hcl:3"},
		{"bad capability", "namespace \"x\" {\n  capabilities = [\"read-job\", \"fly\"]\n}", `capability "fly"`},
		{"bad variable capability", "namespace \"x\" {\n variables {\n  path \"a\" {\n   capabilities = [\"submit-job\"]\n  }\n }\n}", "policy.hcl:4"},
		{"list is for plugins only", "node {\n  policy = \"list\"\n}", "policy.hcl:2"},
		{"unknown block", "namespaces \"x\" {}", "Unsupported block type"},
		{"namespace needs a label", "namespace {\n policy = \"read\"\n}", "policy.hcl:1"},
		{"bad host volume capability", "host_volume \"x\" {\n capabilities = [\"mount\"]\n}", `capability "mount"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.rules)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNamespaceOperations(t *testing.T) {
	read := `namespace "default" { policy = "read" }`
	write := `namespace "default" { policy = "write" }`
	cases := []struct {
		name  string
		rules []string
		ns    string
		cap   string
		want  bool
	}{
		{"read lists jobs", []string{read}, "default", NamespaceCapabilityListJobs, true},
		{"read reads jobs", []string{read}, "default", NamespaceCapabilityReadJob, true},
		{"read parses jobs", []string{read}, "default", NamespaceCapabilityParseJob, true},
		{"read cannot submit", []string{read}, "default", NamespaceCapabilitySubmitJob, false},
		{"read cannot read logs", []string{read}, "default", NamespaceCapabilityReadLogs, false},
		{"read is per namespace", []string{read}, "other", NamespaceCapabilityReadJob, false},
		{"write submits", []string{write}, "default", NamespaceCapabilitySubmitJob, true},
		{"write dispatches", []string{write}, "default", NamespaceCapabilityDispatchJob, true},
		{"write execs", []string{write}, "default", NamespaceCapabilityAllocExec, true},
		{"write reads fs", []string{write}, "default", NamespaceCapabilityReadFS, true},
		{"write has no node exec", []string{write}, "default", NamespaceCapabilityAllocNodeExec, false},
		{"write has no sentinel override", []string{write}, "default", NamespaceCapabilitySentinelOverride, false},
		{"scale scales", []string{`namespace "default" { policy = "scale" }`}, "default", NamespaceCapabilityScaleJob, true},
		{"scale cannot read jobs", []string{`namespace "default" { policy = "scale" }`}, "default", NamespaceCapabilityReadJob, false},
		{"capabilities add to policy", []string{`namespace "default" {
			policy = "read"
			capabilities = ["alloc-node-exec"]
		}`}, "default", NamespaceCapabilityAllocNodeExec, true},
		{"policies add up", []string{read, `namespace "default" { capabilities = ["submit-job"] }`}, "default", NamespaceCapabilitySubmitJob, true},
		{"deny wins across policies", []string{write, `namespace "default" { policy = "deny" }`}, "default", NamespaceCapabilityReadJob, false},
		{"deny capability wins", []string{`namespace "default" { capabilities = ["read-job", "deny"] }`}, "default", NamespaceCapabilityReadJob, false},
		{"wildcard matches", []string{`namespace "*" { policy = "read" }`}, "anything", NamespaceCapabilityReadJob, true},
		{"prefix glob matches", []string{`namespace "prod-*" { policy = "write" }`}, "prod-web", NamespaceCapabilitySubmitJob, true},
		{"prefix glob does not match others", []string{`namespace "prod-*" { policy = "write" }`}, "dev-web", NamespaceCapabilitySubmitJob, false},
		{"exact beats glob", []string{`namespace "*" { policy = "write" }`, `namespace "prod" { policy = "read" }`}, "prod", NamespaceCapabilitySubmitJob, false},
		{"closest glob wins", []string{`namespace "*" { policy = "write" }`, `namespace "prod-*" { policy = "read" }`}, "prod-web", NamespaceCapabilitySubmitJob, false},
		{"farther glob still applies elsewhere", []string{`namespace "*" { policy = "write" }`, `namespace "prod-*" { policy = "read" }`}, "dev", NamespaceCapabilitySubmitJob, true},
		{"all namespaces: allowed in some", []string{`namespace "a" { policy = "write" }`}, "*", NamespaceCapabilitySubmitJob, true},
		{"all namespaces: allowed in none", []string{read}, "*", NamespaceCapabilitySubmitJob, false},
		{"no policy denies", nil, "default", NamespaceCapabilityListJobs, false},
		{"JSON rules", []string{`{"namespace": {"default": {"policy": "write"}}}`}, "default", NamespaceCapabilitySubmitJob, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := compile(t, tc.rules...).AllowNamespaceOperation(tc.ns, tc.cap); got != tc.want {
				t.Fatalf("AllowNamespaceOperation(%q, %q) = %v, want %v", tc.ns, tc.cap, got, tc.want)
			}
		})
	}
}

func TestVariableOperations(t *testing.T) {
	paths := `namespace "default" {
		variables {
			path "project/*" { capabilities = ["read", "list"] }
			path "project/secret/*" { capabilities = ["deny"] }
			path "project/web" { capabilities = ["write", "read"] }
		}
	}`
	cases := []struct {
		name     string
		rules    string
		ns, path string
		op       string
		want     bool
	}{
		{"glob path read", paths, "default", "project/db", VariablesCapabilityRead, true},
		{"glob path no write", paths, "default", "project/db", VariablesCapabilityWrite, false},
		{"exact path write", paths, "default", "project/web", VariablesCapabilityWrite, true},
		{"closer deny glob wins", paths, "default", "project/secret/key", VariablesCapabilityRead, false},
		{"glob spans slashes", paths, "default", "project/a/b/c", VariablesCapabilityList, true},
		{"unmatched path", paths, "default", "other", VariablesCapabilityRead, false},
		{"other namespace", paths, "prod", "project/db", VariablesCapabilityRead, false},
		{"namespace read policy reads variables", `namespace "default" { policy = "read" }`, "default", "any/path", VariablesCapabilityRead, true},
		{"namespace read policy cannot write", `namespace "default" { policy = "read" }`, "default", "any/path", VariablesCapabilityWrite, false},
		{"namespace write policy destroys", `namespace "default" { policy = "write" }`, "default", "a", VariablesCapabilityDestroy, true},
		{"namespace deny denies variables", `namespace "default" {
			policy = "deny"
			variables {
				path "*" { capabilities = ["read"] }
			}
		}`, "default", "a", VariablesCapabilityRead, false},
		{"any namespace", paths, "*", "project/db", VariablesCapabilityList, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := compile(t, tc.rules).AllowVariableOperation(tc.ns, tc.path, tc.op); got != tc.want {
				t.Fatalf("AllowVariableOperation(%q, %q, %q) = %v, want %v", tc.ns, tc.path, tc.op, got, tc.want)
			}
		})
	}
}

func TestCoarseRules(t *testing.T) {
	cases := []struct {
		name  string
		rules []string
		check func(*ACL) bool
		want  bool
	}{
		{"node read", []string{`node { policy = "read" }`}, (*ACL).AllowNodeRead, true},
		{"node read is not write", []string{`node { policy = "read" }`}, (*ACL).AllowNodeWrite, false},
		{"node write reads", []string{`node { policy = "write" }`}, (*ACL).AllowNodeRead, true},
		{"agent write", []string{`agent { policy = "write" }`}, (*ACL).AllowAgentWrite, true},
		{"agent deny wins", []string{`agent { policy = "write" }`, `agent { policy = "deny" }`}, (*ACL).AllowAgentRead, false},
		{"operator read", []string{`operator { policy = "read" }`}, (*ACL).AllowOperatorRead, true},
		{"operator read is not write", []string{`operator { policy = "read" }`}, (*ACL).AllowOperatorWrite, false},
		{"quota write", []string{`quota { policy = "write" }`}, (*ACL).AllowQuotaWrite, true},
		{"plugin list", []string{`plugin { policy = "list" }`}, (*ACL).AllowPluginList, true},
		{"plugin list is not read", []string{`plugin { policy = "list" }`}, (*ACL).AllowPluginRead, false},
		{"plugin read lists", []string{`plugin { policy = "read" }`}, (*ACL).AllowPluginList, true},
		{"broader policy wins", []string{`node { policy = "read" }`, `node { policy = "write" }`}, (*ACL).AllowNodeWrite, true},
		{"namespace rules grant no node access", []string{`namespace "*" { policy = "write" }`}, (*ACL).AllowNodeRead, false},
		{"host volume read mounts read-only", []string{`host_volume "data-*" { policy = "read" }`},
			func(a *ACL) bool { return a.AllowHostVolumeOperation("data-1", HostVolumeCapabilityMountReadOnly) }, true},
		{"host volume read cannot mount read-write", []string{`host_volume "data-*" { policy = "read" }`},
			func(a *ACL) bool { return a.AllowHostVolumeOperation("data-1", HostVolumeCapabilityMountReadWrite) }, false},
		{"management allows all", nil, func(*ACL) bool { return ManagementACL.AllowOperatorWrite() && ManagementACL.IsManagement() }, true},
		{"deny all is not management", nil, func(*ACL) bool { return DenyAll.IsManagement() || DenyAll.AllowNodeRead() }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.check(compile(t, tc.rules...)); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "a/b", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*c", "abc", true},
		{"a*c", "abbbc", true},
		{"a*c", "abd", false},
		{"a*b*c", "a-b-c", true},
		{"a*b*c", "a-c-b", false},
		{"abc", "abc", true},
		{"abc", "abcd", false},
	}
	for _, tc := range cases {
		t.Run(tc.pattern+"~"+tc.name, func(t *testing.T) {
			if got := globMatch(tc.pattern, tc.name); got != tc.want {
				t.Fatalf("globMatch(%q, %q) = %v", tc.pattern, tc.name, got)
			}
		})
	}
}

// BenchmarkAllowNamespaceOperation is the per-object check of a filtered
// list: an exact namespace rule, and a namespace found through globs.
func BenchmarkAllowNamespaceOperation(b *testing.B) {
	p, err := Parse(`namespace "default" { policy = "write" }
namespace "prod-*" { policy = "read" }
namespace "*" { policy = "deny" }`)
	if err != nil {
		b.Fatal(err)
	}
	a := Compile([]*Policy{p})
	for _, ns := range []string{"default", "prod-web"} {
		b.Run(ns, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if !a.AllowNamespaceOperation(ns, NamespaceCapabilityListJobs) {
					b.Fatal("denied")
				}
			}
		})
	}
}

// TestAllowNamespace is the check a namespace list filters with: whether
// the token may do anything at all in a namespace.
func TestAllowNamespace(t *testing.T) {
	cases := []struct {
		name  string
		rules string
		ns    string
		want  bool
	}{
		{"capabilities", `namespace "a" { capabilities = ["list-jobs"] }`, "a", true},
		{"variables only", "namespace \"a\" {\n variables {\n  path \"*\" { capabilities = [\"read\"] }\n }\n}", "a", true},
		{"deny", `namespace "a" { policy = "deny" }`, "a", false},
		{"other namespace", `namespace "a" { policy = "read" }`, "b", false},
		{"glob", `namespace "a-*" { policy = "read" }`, "a-1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := compile(t, tc.rules).AllowNamespace(tc.ns); got != tc.want {
				t.Fatalf("AllowNamespace(%q) = %v, want %v", tc.ns, got, tc.want)
			}
		})
	}
}

func TestNodePoolOperations(t *testing.T) {
	cases := []struct {
		name  string
		rules []string
		pool  string
		cap   string
		want  bool
	}{
		{"read policy reads", []string{`node_pool "prod" { policy = "read" }`}, "prod", NodePoolCapabilityRead, true},
		{"read policy cannot write", []string{`node_pool "prod" { policy = "read" }`}, "prod", NodePoolCapabilityWrite, false},
		{"write policy deletes", []string{`node_pool "prod" { policy = "write" }`}, "prod", NodePoolCapabilityDelete, true},
		{"glob", []string{`node_pool "prod-*" { capabilities = ["write"] }`}, "prod-eu", NodePoolCapabilityWrite, true},
		{"other pool", []string{`node_pool "prod" { policy = "write" }`}, "dev", NodePoolCapabilityRead, false},
		{"deny wins", []string{`node_pool "*" { policy = "write" }`, `node_pool "*" { policy = "deny" }`}, "prod", NodePoolCapabilityRead, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := compile(t, tc.rules...).AllowNodePoolOperation(tc.pool, tc.cap); got != tc.want {
				t.Fatalf("AllowNodePoolOperation(%q, %q) = %v, want %v", tc.pool, tc.cap, got, tc.want)
			}
		})
	}
}
