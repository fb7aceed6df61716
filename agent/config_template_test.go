package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestClientTemplateBlock(t *testing.T) {
	cases := []struct {
		name      string
		block     string
		wantDeny  []string
		wantWait  time.Duration
		wantMin   time.Duration
		wantMax   time.Duration
		wantNoBox bool
	}{
		{"absent", ``, nil, 0, 0, 0, false},
		{"every setting", `template {
  function_denylist    = ["plugin", "env"]
  disable_file_sandbox = true
  max_stale            = "10s"
  block_query_wait     = "1m"
  wait_bounds {
    min = "2s"
    max = "10s"
  }
  nomad_retry { attempts = 3 }
}`, []string{"plugin", "env"}, time.Minute, 2 * time.Second, 10 * time.Second, true},
		{"the old blacklist name", `template { function_blacklist = ["plugin"] }`, []string{"plugin"}, 0, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "client.hcl")
			if err := os.WriteFile(path, []byte("client {\n  enabled = true\n"+tc.block+"\n}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfigFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.Client.Template
			if !slices.Equal(s.FunctionDenylist, tc.wantDeny) || s.BlockQueryWait != tc.wantWait || s.DisableFileSandbox != tc.wantNoBox {
				t.Fatalf("settings = %+v", s)
			}
			if got := durationOr0(s.WaitMin); got != tc.wantMin {
				t.Fatalf("wait min = %v, want %v", got, tc.wantMin)
			}
			if got := durationOr0(s.WaitMax); got != tc.wantMax {
				t.Fatalf("wait max = %v, want %v", got, tc.wantMax)
			}
		})
	}
}

func durationOr0(d *time.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return *d
}

func TestClientServiceDNSBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.hcl")
	conf := "client {\n  enabled = true\n  service_dns {\n    address = \"127.0.0.1:8600\"\n    domain = \"example\"\n  }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Client.ServiceDNS; got.Address != "127.0.0.1:8600" || got.Domain != "example" {
		t.Fatalf("service_dns = %+v", got)
	}
}
