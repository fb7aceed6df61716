package agent

import (
	"encoding/base64"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/roam-project/roam/server"
)

// KeyringConfig is one `keyring "PROVIDER"` block: how a server wraps the
// root keys that seal variables. Roam supports the "aead" provider only.
// Key is Roam's addition to Nomad's block: a base64 256-bit
// key-encryption key, the same on every server, that wraps the root keys
// in Raft and snapshots. Without it each root key is wrapped with its own
// KEK kept beside it, as Nomad's default does, which stops casual reads
// only.
type KeyringConfig struct {
	Provider string
	Name     string
	// Active marks the block that wraps new keys; unset, a lone block is
	// active.
	Active *bool
	Key    string
}

// fileKeyring is a keyring block as written.
type fileKeyring struct {
	Provider string   `hcl:"provider,label"`
	Name     string   `hcl:"name,optional"`
	Active   *bool    `hcl:"active,optional"`
	Key      string   `hcl:"key,optional"`
	Rest     hcl.Body `hcl:",remain"`
}

// keyringConfigs converts keyring blocks. Settings of other providers are
// kept aside so that Validate can name the provider it refuses; an aead
// block with a setting Roam does not know is an error.
func keyringConfigs(blocks []fileKeyring) ([]KeyringConfig, hcl.Diagnostics) {
	var out []KeyringConfig
	var diags hcl.Diagnostics
	for _, b := range blocks {
		if b.Provider == "aead" {
			attrs, d := b.Rest.JustAttributes()
			diags = append(diags, d...)
			names := make([]string, 0, len(attrs))
			for name := range attrs {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Unsupported argument",
					Detail:   fmt.Sprintf("keyring \"aead\" takes name, active and key; %q is not one of them.", name),
					Subject:  attrs[name].Range.Ptr(),
				})
			}
		}
		out = append(out, KeyringConfig{Provider: b.Provider, Name: b.Name, Active: b.Active, Key: b.Key})
	}
	return out, diags
}

// KEKs checks the keyring blocks and returns their key-encryption keys
// for the server.
func (c *Config) KEKs() ([]server.KEK, error) {
	var keks []server.KEK
	active := 0
	for _, k := range c.Keyrings {
		if k.Provider != "aead" {
			return nil, fmt.Errorf("keyring %q: Roam supports only the \"aead\" keyring provider; remove the block or use keyring \"aead\" { key = ... }", k.Provider)
		}
		isActive := len(c.Keyrings) == 1
		if k.Active != nil {
			isActive = *k.Active
		}
		if isActive {
			active++
		}
		if k.Key == "" {
			if len(c.Keyrings) > 1 {
				return nil, fmt.Errorf("keyring \"aead\" %q: key must be set when there is more than one keyring block", k.Name)
			}
			continue
		}
		key, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("keyring \"aead\" %q: key must be 32 bytes in base64 (as `openssl rand -base64 32` writes)", k.Name)
		}
		keks = append(keks, server.KEK{Name: k.Name, Key: key, Active: isActive})
	}
	if len(c.Keyrings) > 0 && active != 1 {
		return nil, fmt.Errorf("keyring: exactly one keyring block must be active, %d are", active)
	}
	return keks, nil
}
