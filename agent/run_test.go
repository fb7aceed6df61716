package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecuritySettingsThatCannotBeHonouredStopTheStart checks that an agent
// never starts open while its configuration asks for it to be closed.
func TestSecuritySettingsThatCannotBeHonouredStopTheStart(t *testing.T) {
	const serverOn = "server {\n  enabled = true\n}\n"
	cases := []struct {
		name    string
		config  string
		wantErr string
	}{
		{"tls naming files that do not exist", serverOn + `tls {
  http = true
  ca_file   = "/nonexistent/ca.pem"
  cert_file = "/nonexistent/cert.pem"
  key_file  = "/nonexistent/key.pem"
}`, "tls.ca_file: stat /nonexistent/ca.pem: no such file or directory"},
		{"tls on without files", serverOn + "tls {\n  rpc = true\n}", "tls.cert_file must be set"},
		{"tls upgrade mode, not implemented", serverOn + "tls {\n  rpc_upgrade_mode = true\n}", "rpc_upgrade_mode is not supported"},
		{"a tls setting Roam does not know", serverOn + "tls {\n  http = true\n  verify_everything = true\n}", "Unsupported argument"},
		{"a gossip key that is not one", "server {\n  enabled = true\n  encrypt = \"hunter2\"\n}\n", "server.encrypt: not base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "agent.hcl")
			body := fmt.Sprintf("data_dir = %q\nbind_addr = \"127.0.0.1\"\nports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n%s",
				dir, freePort(t), freePort(t), freePort(t), tc.config)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			exit := make(chan int, 1)
			go func() { exit <- run([]string{"-config", path}, &stdout, &stderr) }()
			select {
			case code := <-exit:
				if code != 1 {
					t.Fatalf("exit %d, want 1", code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the agent started instead of refusing its configuration")
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Fatalf("stderr %q, want %q", stderr.String(), tc.wantErr)
			}
		})
	}
}
