package isolation

import (
	"testing"

	"github.com/containerd/cgroups/v3/cgroup2"

	"github.com/roam-project/roam/drivers"
)

// TestDeviceRulesCompile checks that a task's device allow-list compiles
// into the eBPF device filter cgroups v2 applies (v1 writes the rules to
// devices.allow and devices.deny), and that it names the given node.
func TestDeviceRulesCompile(t *testing.T) {
	cases := []struct {
		name  string
		nodes []drivers.DeviceNode
		rules int
	}{
		{"defaults only", nil, len(defaultDeviceRules)},
		{"a given node", []drivers.DeviceNode{{HostPath: "/dev/zero", TaskPath: "/dev/gpu0", Permissions: "rw"}}, len(defaultDeviceRules) + 1},
		{"a missing node is left out", []drivers.DeviceNode{{HostPath: "/dev/roam-no-such-node"}}, len(defaultDeviceRules)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules := deviceRules(tc.nodes)
			if len(rules) != tc.rules {
				t.Fatalf("%d rules, want %d", len(rules), tc.rules)
			}
			if _, _, err := cgroup2.DeviceFilter(rules); err != nil {
				t.Fatalf("eBPF device filter: %v", err)
			}
			if tc.rules > len(defaultDeviceRules) {
				last := rules[len(rules)-1]
				if last.Type != "c" || *last.Major != 1 || *last.Minor != 5 || last.Access != "rw" {
					t.Fatalf("rule for /dev/zero = %+v", last)
				}
			}
		})
	}
}
