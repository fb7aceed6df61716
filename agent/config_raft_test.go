package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRaftMultiplierSetting(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    int
		wantErr string
	}{
		{name: "default", value: "", want: 0},
		{name: "slow network", value: "raft_multiplier = 5", want: 5},
		{name: "above 10", value: "raft_multiplier = 11", wantErr: "server.raft_multiplier must be between 1 and 10, got 11"},
		{name: "negative", value: "raft_multiplier = -1", wantErr: "server.raft_multiplier must be between 1 and 10, got -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roam.hcl")
			content := "data_dir = \"/tmp/roam\"\nserver {\n  enabled = true\n  " + tc.value + "\n}\n"
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			file, err := LoadConfigFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := DefaultConfig().Merge(file)
			err = c.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Validate error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.RaftMultiplier != tc.want {
				t.Fatalf("raft_multiplier = %d, want %d", c.Server.RaftMultiplier, tc.want)
			}
		})
	}
}
