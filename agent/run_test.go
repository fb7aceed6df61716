package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"acl enabled before ACLs exist", serverOn + "acl {\n  enabled = true\n}", "no ACL system yet"},
		{"a gossip key that is not one", "server {\n  enabled = true\n  encrypt = \"hunter2\"\n}\n", "server.encrypt: not base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "agent.hcl")
			body := "data_dir = \"" + dir + "\"\nbind_addr = \"127.0.0.1\"\n" + tc.config
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := run([]string{"-config", path}, &stdout, &stderr); code != 1 {
				t.Fatalf("exit %d, want 1; stdout %s", code, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Fatalf("stderr %q, want %q", stderr.String(), tc.wantErr)
			}
			if strings.Contains(stdout.String(), "agent started") {
				t.Fatal("the agent started")
			}
		})
	}
}
