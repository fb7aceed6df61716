package client

import (
	"errors"
	"testing"

	"github.com/roam-project/roam/client/clienttest"
)

func strp(s string) *string { return &s }

// TestNodeMetaApply sets and unsets dynamic node metadata: the merged
// metadata reaches the servers, and survives a client restart.
func TestNodeMetaApply(t *testing.T) {
	servers := clienttest.NewServers()
	dir := t.TempDir()
	configure := func(c *Config) { c.Meta = map[string]string{"rack": "r1", "zone": "z1"} }
	h := startClientWith(t, servers, dir, configure)
	id := h.client.Node().ID

	first := h.client.NodeMeta()
	if first.Meta["rack"] != "r1" || first.Meta["connect.log_level"] != "info" || len(first.Dynamic) != 0 {
		t.Fatalf("initial metadata = %+v", first)
	}

	cases := []struct {
		name   string
		update map[string]*string
		// want and gone are keys of the merged metadata after the update.
		want map[string]string
		gone []string
		err  bool
	}{
		{name: "set a key", update: map[string]*string{"gpu": strp("a100")}, want: map[string]string{"gpu": "a100", "rack": "r1"}},
		{name: "unset a static key", update: map[string]*string{"zone": nil}, want: map[string]string{"gpu": "a100"}, gone: []string{"zone"}},
		{name: "override a static key", update: map[string]*string{"rack": strp("r2")}, want: map[string]string{"rack": "r2"}, gone: []string{"zone"}},
		{name: "unset a dynamic key", update: map[string]*string{"gpu": nil}, want: map[string]string{"rack": "r2"}, gone: []string{"gpu", "zone"}},
		{name: "empty key", update: map[string]*string{"": strp("x")}, err: true},
		{name: "nothing", update: map[string]*string{}, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.client.ApplyNodeMeta(tc.update)
			if tc.err {
				if !errors.Is(err, ErrInvalidNodeMeta) {
					t.Fatalf("err = %v, want invalid node metadata", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if resp.Meta[k] != v {
					t.Errorf("meta[%s] = %q, want %q", k, resp.Meta[k], v)
				}
			}
			for _, k := range tc.gone {
				if _, ok := resp.Meta[k]; ok {
					t.Errorf("meta[%s] still set", k)
				}
			}
			if resp.Static["zone"] != "z1" || resp.Static["rack"] != "r1" {
				t.Errorf("static metadata changed: %v", resp.Static)
			}
			waitFor(t, "the servers to see the metadata", func() bool {
				n := servers.Node(id)
				for k, v := range tc.want {
					if n.Meta[k] != v {
						return false
					}
				}
				for _, k := range tc.gone {
					if _, ok := n.Meta[k]; ok {
						return false
					}
				}
				return true
			})
		})
	}

	h.stop()
	h2 := startClientWith(t, servers, dir, configure)
	after := h2.client.NodeMeta()
	if after.Meta["rack"] != "r2" || after.Meta["zone"] != "" || after.Meta["gpu"] != "" {
		t.Fatalf("after restart: meta = %v", after.Meta)
	}
	if v, ok := after.Dynamic["zone"]; !ok || v != nil {
		t.Fatalf("after restart: dynamic = %v, want zone unset", after.Dynamic)
	}
	if n := servers.Node(id); n.Meta["rack"] != "r2" {
		t.Fatalf("after restart the servers see %v", n.Meta)
	}
}
