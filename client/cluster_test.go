package client

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/network"
	"github.com/roam-project/roam/network/wireguard"
	"github.com/roam-project/roam/structs"
)

// TestStartOverlay asks for overlays on a node where WireGuard cannot start
// (its key file holds no key): the client says so, falls back only when
// configured to, and fingerprints what it has.
func TestStartOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make VXLAN devices")
	}
	cases := []struct {
		name, overlay, fallback string
		wantKind                string // "" : no cluster network
		wantLog                 string
	}{
		{"wireguard without fallback stays out", "", "", "", "cluster network unavailable"},
		{"wireguard falls back to vxlan when told", "wireguard", "vxlan", "vxlan", "falling back"},
		{"vxlan asked is vxlan", "vxlan", "", "vxlan", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, wireguard.KeyFile), []byte("not a key\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			c := &Client{cfg: &Config{StateDir: dir, ClusterOverlay: tc.overlay, ClusterOverlayFallback: tc.fallback},
				logger: slog.New(slog.NewTextHandler(&logs, nil))}
			ov, err := c.startOverlay("127.0.0.1")
			caps := network.Fingerprint(ov, err)
			if tc.wantKind == "" {
				if err == nil || !strings.Contains(err.Error(), "wireguard overlay cannot start") {
					t.Fatalf("error %v; want the wireguard overlay's failure", err)
				}
				if caps.Attributes[network.AttrCluster] != "" || caps.Attributes[network.AttrBridge] != "" {
					t.Errorf("attributes %v; want neither network.cluster nor network.bridge", caps.Attributes)
				}
				if !strings.Contains(caps.Missing[network.AttrBridge], "cluster network cannot start") {
					t.Errorf("network.bridge missing because %q; want the cluster network's failure", caps.Missing[network.AttrBridge])
				}
			} else {
				if err != nil || ov.Kind() != tc.wantKind {
					t.Fatalf("overlay %v, %v; want %s", ov, err, tc.wantKind)
				}
				if got := caps.Attributes[network.AttrCluster]; got != tc.wantKind {
					t.Errorf("network.cluster = %q; want %q", got, tc.wantKind)
				}
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log %q; want it to say %q", logs.String(), tc.wantLog)
			}
		})
	}
}

// TestSplitPeers sorts the other nodes' leases by how this node reaches
// them: over its own overlay, over the VXLAN a WireGuard node runs too
// (fallback = "vxlan"), or not at all.
func TestSplitPeers(t *testing.T) {
	leases := []*structs.SubnetLease{
		{NodeID: "self", Subnet: "10.42.0.0/24", Overlay: network.OverlayWireGuard},
		{NodeID: "wg", Subnet: "10.42.1.0/24", Overlay: network.OverlayWireGuard, WireGuardKey: "k1"},
		{NodeID: "wg+vx", Subnet: "10.42.2.0/24", Overlay: network.OverlayWireGuard, WireGuardKey: "k2", VTEPMAC: "02:52:0a:00:00:03"},
		{NodeID: "vx", Subnet: "10.42.3.0/24", Overlay: network.OverlayVXLAN, VTEPMAC: "02:52:0a:00:00:04"},
		{NodeID: "old", Subnet: "10.42.4.0/24", VTEPMAC: "02:52:0a:00:00:05"}, // before the choice: VXLAN
	}
	cases := []struct {
		name          string
		kind          string
		vxlanToo      bool
		peers, vxlans []string // subnets
		other         int
	}{
		{"WireGuard only", network.OverlayWireGuard, false, []string{"10.42.1.0/24", "10.42.2.0/24"}, nil, 2},
		{"WireGuard with VXLAN too", network.OverlayWireGuard, true,
			[]string{"10.42.1.0/24", "10.42.2.0/24"}, []string{"10.42.3.0/24", "10.42.4.0/24"}, 0},
		{"VXLAN", network.OverlayVXLAN, false, []string{"10.42.2.0/24", "10.42.3.0/24", "10.42.4.0/24"}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			peers, vxlans, other := splitPeers(leases, "self", tc.kind, tc.vxlanToo)
			check := func(what string, got []network.Peer, want []string, kind string) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d peers %v, want %v", what, len(got), got, want)
				}
				for i, p := range got {
					if p.Subnet != want[i] || p.Kind != kind {
						t.Errorf("%s %d: %s over %s, want %s over %s", what, i, p.Subnet, p.Kind, want[i], kind)
					}
				}
			}
			check("peers", peers, tc.peers, tc.kind)
			check("VXLAN peers", vxlans, tc.vxlans, network.OverlayVXLAN)
			if other != tc.other {
				t.Errorf("%d unreachable nodes, want %d", other, tc.other)
			}
		})
	}
}
