package agent

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/server"
)

func TestKeyringBlocks(t *testing.T) {
	keyA := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	keyB := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	tests := []struct {
		name    string
		content string
		want    []server.KEK
		wantErr string
	}{
		{name: "no keyring block", content: ""},
		{name: "aead without a key: each root key has its own KEK", content: `keyring "aead" { active = true }`},
		{name: "aead with a key, active by being alone",
			content: `keyring "aead" { key = "` + keyA + `" }`,
			want:    []server.KEK{{Key: bytes.Repeat([]byte{1}, 32), Active: true}}},
		{name: "rotation: the new key active, the old one kept to unwrap",
			content: `keyring "aead" {
  name   = "new"
  active = true
  key    = "` + keyB + `"
}
keyring "aead" {
  name   = "old"
  active = false
  key    = "` + keyA + `"
}`,
			want: []server.KEK{{Name: "new", Key: bytes.Repeat([]byte{2}, 32), Active: true}, {Name: "old", Key: bytes.Repeat([]byte{1}, 32)}}},
		{name: "external KMS refused by name", content: `keyring "awskms" {
  active     = true
  region     = "us-east-1"
  kms_key_id = "x"
}`, wantErr: `keyring "awskms": Roam supports only the "aead" keyring provider`},
		{name: "key that is not base64", content: `keyring "aead" { key = "not base64!" }`, wantErr: "key must be 32 bytes in base64"},
		{name: "key of the wrong size", content: `keyring "aead" { key = "` + base64.StdEncoding.EncodeToString([]byte("short")) + `" }`, wantErr: "key must be 32 bytes in base64"},
		{name: "two active blocks", content: `keyring "aead" {
  name   = "a"
  active = true
  key    = "` + keyA + `"
}
keyring "aead" {
  name   = "b"
  active = true
  key    = "` + keyB + `"
}`, wantErr: "exactly one keyring block must be active, 2 are"},
		{name: "unknown aead setting", content: `keyring "aead" { kek = "x" }`, wantErr: `"kek" is not one of them`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roam.hcl")
			if err := os.WriteFile(path, []byte(tc.content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfigFile(path)
			var keks []server.KEK
			if err == nil {
				keks, err = c.KEKs()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keks) != len(tc.want) {
				t.Fatalf("KEKs = %+v, want %+v", keks, tc.want)
			}
			for i := range keks {
				if keks[i].Name != tc.want[i].Name || keks[i].Active != tc.want[i].Active || !bytes.Equal(keks[i].Key, tc.want[i].Key) {
					t.Errorf("KEK %d = %+v, want %+v", i, keks[i], tc.want[i])
				}
			}
		})
	}
}
