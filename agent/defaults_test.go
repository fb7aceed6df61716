package agent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestRawExecOffOutsideDev: raw_exec runs host commands as the agent's
// user, so only -dev and an explicit plugin block turn it on; mock_driver,
// the test driver, likewise.
func TestRawExecOffOutsideDev(t *testing.T) {
	dir := t.TempDir()
	enabled := filepath.Join(dir, "enabled.hcl")
	if err := os.WriteFile(enabled, []byte("plugin \"raw_exec\" {\n  config {\n    enabled = true\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadConfigFile(enabled)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  *Config
		want map[string]bool
	}{
		{"default configuration", DefaultConfig(), map[string]bool{"raw_exec": false, "mock_driver": false}},
		{"dev agent", DevConfig(), map[string]bool{"raw_exec": true, "mock_driver": true}},
		{"plugin block enables it", DefaultConfig().Merge(fromFile), map[string]bool{"raw_exec": true, "mock_driver": false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := loadDrivers(tc.cfg.Plugins, t.TempDir(), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if got := ds[name].Fingerprint(context.Background()).Detected; got != want {
					t.Errorf("%s detected = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// TestDataDirIsPrivate: the data directory, Raft's, the keyring's and the
// client state's directories are the owner's alone, even when the data
// directory existed with looser permissions.
func TestDataDirIsPrivate(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.BindAddr, cfg.DataDir = "127.0.0.1", dataDir
	cfg.Server.Enabled, cfg.Server.BootstrapExpect = true, 1
	cfg.Client.Enabled, cfg.Client.NetworkInterface = true, loopbackInterface()
	cfg.Ports = Ports{HTTP: freePort(t), RPC: freePort(t), Serf: freePort(t)}
	if err := cfg.NormalizeAddrs(); err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Shutdown)
	// Root keys live in Raft (server/raft), wrapped.
	if _, err := a.server.ApplyVar(&structs.VarApplyArgs{Op: structs.VarOpSet, Var: &api.Variable{Path: "a", Items: api.VariableItems{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", "server", "server/raft", "client"} {
		t.Run("/"+dir, func(t *testing.T) {
			st, err := os.Stat(filepath.Join(dataDir, dir))
			if err != nil {
				t.Fatal(err)
			}
			if mode := st.Mode().Perm(); mode != 0o700 {
				t.Fatalf("mode %o, want 700", mode)
			}
		})
	}
}
