package server

import (
	"slices"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestDiffReplicated(t *testing.T) {
	key := func(p *api.ACLPolicy) string { return p.Name }
	content := func(p *api.ACLPolicy) any { c := *p; c.CreateIndex, c.ModifyIndex = 0, 0; return c }
	pol := func(name, rules string, index uint64) *api.ACLPolicy {
		return &api.ACLPolicy{Name: name, Rules: rules, CreateIndex: index, ModifyIndex: index}
	}
	cases := []struct {
		name          string
		local, remote []*api.ACLPolicy
		wantUpserts   []string
		wantDeletes   []string
	}{
		{"nothing anywhere", nil, nil, nil, nil},
		{"new in the authoritative region", nil, []*api.ACLPolicy{pol("a", "x", 5)}, []string{"a"}, nil},
		{"same content, other indexes: nothing to do", []*api.ACLPolicy{pol("a", "x", 9)}, []*api.ACLPolicy{pol("a", "x", 5)}, nil, nil},
		{"changed rules", []*api.ACLPolicy{pol("a", "x", 9)}, []*api.ACLPolicy{pol("a", "y", 6)}, []string{"a"}, nil},
		{"deleted there", []*api.ACLPolicy{pol("a", "x", 9), pol("b", "x", 9)}, []*api.ACLPolicy{pol("a", "x", 5)}, nil, []string{"b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up, del := diffReplicated(tc.local, tc.remote, key, content)
			var upNames []string
			for _, p := range up {
				upNames = append(upNames, p.Name)
			}
			slices.Sort(del)
			if !slices.Equal(upNames, tc.wantUpserts) || !slices.Equal(del, tc.wantDeletes) {
				t.Fatalf("upserts %v, deletes %v; want %v, %v", upNames, del, tc.wantUpserts, tc.wantDeletes)
			}
		})
	}
}
