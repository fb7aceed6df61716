package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestNodePoolLifecycle: the built-in pools exist from the start, a node
// registering in an unknown pool creates it, and pools with nodes or built
// in cannot be deleted.
func TestNodePoolLifecycle(t *testing.T) {
	s := mustStore(t)
	pools, err := s.Snapshot().NodePools("")
	if err != nil || len(pools) != 2 || pools[0].Name != "all" || pools[1].Name != "default" {
		t.Fatalf("built-in pools = %v, %v", pools, err)
	}
	if err := s.NodeRegister(5, &structs.NodeRegisterRequest{Node: &api.Node{ID: "n1", NodePool: "edge"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertNodePools(6, &structs.NodePoolUpsertRequest{Pools: []*api.NodePool{{Name: "empty"}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pool, refusal string
	}{
		{name: "built-in", pool: "default", refusal: "built-in"},
		{name: "with a node", pool: "edge", refusal: `has node "n1"`},
		{name: "unknown", pool: "nope", refusal: "not found"},
		{name: "empty", pool: "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.DeleteNodePools(7, &structs.NodePoolDeleteRequest{Names: []string{tc.pool}})
			if tc.refusal == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var refused *RefusedError
			if err == nil || !strings.Contains(err.Error(), tc.refusal) || (!errors.As(err, &refused) && !errors.Is(err, ErrNotFound)) {
				t.Fatalf("error %v, want one containing %q", err, tc.refusal)
			}
		})
	}
	if p, _ := s.Snapshot().NodePoolByName("edge"); p == nil || p.CreateIndex != 5 {
		t.Fatalf("edge pool = %+v, want created by the node at 5", p)
	}
}
