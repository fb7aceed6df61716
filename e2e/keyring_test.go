package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestVariablesWithConfiguredKEK runs an agent whose keyring block gives
// the key-encryption key: variables are written and read back through it.
func TestVariablesWithConfiguredKEK(t *testing.T) {
	kek := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))
	a := startDevAgent(t, "keyring \"aead\" {\n  active = true\n  key    = \""+kek+"\"\n}\n")
	if _, _, err := a.client.Variables().Create(&api.Variable{Path: "app/db", Items: api.VariableItems{"password": "hunter2"}}, nil); err != nil {
		t.Fatal(err)
	}
	v, _, err := a.client.Variables().Read("app/db", nil)
	if err != nil || v.Items["password"] != "hunter2" {
		t.Fatalf("read back = %+v, %v", v, err)
	}
}

// TestAgentRefusesKeyringItCannotHonour starts agents with keyring blocks
// Roam cannot act on: each must refuse to start, naming the problem,
// rather than run with keys wrapped otherwise than configured.
func TestAgentRefusesKeyringItCannotHonour(t *testing.T) {
	tests := []struct {
		name, block, want string
	}{
		{"external KMS", "keyring \"awskms\" {\n  active = true\n  region = \"us-east-1\"\n}\n", `Roam supports only the "aead" keyring provider`},
		{"short key", "keyring \"aead\" {\n  key = \"c2hvcnQ=\"\n}\n", "key must be 32 bytes in base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ports := freePorts(t, 3)
			conf := filepath.Join(dir, "agent.hcl")
			body := fmt.Sprintf("ports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n%s", ports[0], ports[1], ports[2], tc.block)
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, roamBin, "agent", "-dev", "-config", conf).CombinedOutput()
			if err == nil || ctx.Err() != nil {
				t.Fatalf("agent did not refuse to start (err %v): %s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("output does not say %q:\n%s", tc.want, out)
			}
		})
	}
}
