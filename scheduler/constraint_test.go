package scheduler

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestConstraintOperators(t *testing.T) {
	node := &api.Node{
		ID: "node-id", Name: "web-1", Datacenter: "dc1", NodeClass: "large", NodePool: "gpu",
		Attributes: map[string]string{
			"kernel.name": "linux", "cpu.numcores": "8", "os.version": "22.04",
			"nomad.version": "1.9.3", "beta.version": "1.10.0-beta.1", "tags": "a, b,c", "load": "0.75",
		},
		Meta: map[string]string{"rack": "r1"},
	}
	cases := []struct {
		name   string
		l, op  string
		r      string
		expect bool
	}{
		{"equal attr", "${attr.kernel.name}", "=", "linux", true},
		{"empty operator means equal", "${attr.kernel.name}", "", "windows", false},
		{"double equal", "${meta.rack}", "==", "r1", true},
		{"not equal", "${attr.kernel.name}", "!=", "windows", true},
		{"not equal missing attr", "${attr.nope}", "!=", "x", true},
		{"equal missing attr", "${attr.nope}", "=", "", false},
		{"less numeric", "${attr.cpu.numcores}", "<", "10", true},
		{"greater equal numeric", "${attr.cpu.numcores}", ">=", "8", true},
		{"greater float", "${attr.load}", ">", "0.5", true},
		{"lexical order", "${node.datacenter}", "<=", "dc2", true},
		{"regexp", "${node.unique.name}", "regexp", "^web-[0-9]+$", true},
		{"regexp no match", "${node.unique.name}", "regexp", "^db", false},
		{"invalid regexp", "${node.unique.name}", "regexp", "(", false},
		{"version", "${attr.nomad.version}", "version", ">= 1.8, < 2.0", true},
		{"version pessimistic", "${attr.nomad.version}", "version", "~> 1.8.0", false},
		{"semver", "${attr.nomad.version}", "semver", ">= 1.9.0", true},
		{"semver prerelease excluded", "${attr.beta.version}", "semver", ">= 1.9.0", false},
		{"semver invalid", "${attr.kernel.name}", "semver", ">= 1.0.0", false},
		{"set_contains", "${attr.tags}", "set_contains", "a,c", true},
		{"set_contains missing", "${attr.tags}", "set_contains", "a,d", false},
		{"set_contains_any", "${attr.tags}", "set_contains_any", "d,b", true},
		{"is_set", "${meta.rack}", "is_set", "", true},
		{"is_not_set", "${meta.zone}", "is_not_set", "", true},
		{"node id", "${node.unique.id}", "=", "node-id", true},
		{"node class", "${node.class}", "=", "large", true},
		{"node pool", "${node.pool}", "=", "gpu", true},
		{"node region", "${node.region}", "=", "global", true},
		{"interpolated right side", "${attr.kernel.name}", "=", "${attr.kernel.name}", true},
		{"unknown operator", "${attr.kernel.name}", "~", "linux", false},
	}
	m := newConstraintMatcher()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &api.Constraint{LTarget: tc.l, Operand: tc.op, RTarget: tc.r}
			if got := m.meets(c, node, "global"); got != tc.expect {
				t.Errorf("%s: got %v, want %v", constraintString(c), got, tc.expect)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		name, pattern, s string
		expect           bool
	}{
		{"literal", "dc1", "dc1", true},
		{"literal mismatch", "dc1", "dc2", false},
		{"star", "*", "anything", true},
		{"prefix", "us-*", "us-east-1", true},
		{"prefix mismatch", "us-*", "eu-west-1", false},
		{"middle", "us-*-1", "us-east-1", true},
		{"overlapping", "a*a", "a", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := globMatch(tc.pattern, tc.s); got != tc.expect {
				t.Errorf("globMatch(%q, %q) = %v", tc.pattern, tc.s, got)
			}
		})
	}
}

func TestAllocIndex(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want int
	}{
		{"plain", "web.api[3]", 3},
		{"nested brackets", "we[1]b.api[12]", 12},
		{"no index", "web.api", -1},
		{"bad index", "web.api[x]", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := allocIndex(tc.in); got != tc.want {
				t.Errorf("allocIndex(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}
