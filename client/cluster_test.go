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
