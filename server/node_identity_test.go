package server

import (
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/structs"
)

// verifiedClaims checks token's signature against the server's published
// signing keys (what /.well-known/jwks.json serves) and returns its
// claims.
func verifiedClaims(t *testing.T, s *Server, token string) map[string]any {
	t.Helper()
	parsed, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{identity.Algorithm})
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := s.PublicSigningKeys(s.State().Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var pub *rsa.PublicKey
	for _, k := range keys {
		if k.KeyID == parsed.Signatures[0].Header.KeyID {
			pub = k.Key
		}
	}
	if pub == nil {
		t.Fatalf("token signed with key %q, not a published one", parsed.Signatures[0].Header.KeyID)
	}
	if _, err := parsed.Verify(pub); err != nil {
		t.Fatalf("signature: %v", err)
	}
	claims, err := identity.TokenClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestSignNodeIdentity signs node identities with Nomad's claims, valid
// for the node pool's node_identity_ttl (24 hours by default).
func TestSignNodeIdentity(t *testing.T) {
	s := testServer(t, time.Minute)
	waitFor(t, "a signing key", func() bool { _, _, err := s.signingKey(s.State().Snapshot()); return err == nil })
	if _, err := s.UpsertNodePools("", []*api.NodePool{{Name: "short", NodeIdentityTTL: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	inShort := testNode("node-short", 4096)
	inShort.NodePool = "short"
	for _, n := range []*api.Node{testNode("node-default", 4096), inShort} {
		if _, err := s.RegisterNode(n); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		node, pool string
		ttl        time.Duration
	}{
		{"node-default", "default", 24 * time.Hour},
		{"node-short", "short", time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.node, func(t *testing.T) {
			token, err := s.SignNodeIdentity(tc.node)
			if err != nil {
				t.Fatal(err)
			}
			c := verifiedClaims(t, s, token)
			if len(c) != 9 {
				t.Errorf("claims %v: want Nomad's 9", c)
			}
			want := map[string]any{"nomad_node_id": tc.node, "nomad_node_pool": tc.pool, "nomad_node_datacenter": "dc1",
				"aud": identity.NodeAudience, "sub": "node:global:" + tc.pool + ":" + tc.node + ":default"}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			if got := time.Duration(c["exp"].(float64)-c["iat"].(float64)) * time.Second; got != tc.ttl {
				t.Errorf("lifetime %v, want %v", got, tc.ttl)
			}
		})
	}
	if _, err := s.SignNodeIdentity("absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("identity of an unknown node: err = %v, want not found", err)
	}
}

// TestClientIntroductionToken signs introduction tokens scoped to a node
// name and pool, within the TTL bounds.
func TestClientIntroductionToken(t *testing.T) {
	s := testServer(t, time.Minute)
	waitFor(t, "a signing key", func() bool { _, _, err := s.signingKey(s.State().Snapshot()); return err == nil })
	cases := []struct {
		name    string
		args    structs.ClientIntroductionTokenArgs
		ttl     time.Duration
		pool    string
		wantErr string
	}{
		{name: "defaults", ttl: DefaultIntroductionTTL, pool: "default"},
		{name: "scoped", args: structs.ClientIntroductionTokenArgs{TTL: time.Second, NodeName: "web-1", NodePool: "default"}, ttl: time.Second, pool: "default"},
		{name: "too long", args: structs.ClientIntroductionTokenArgs{TTL: 48 * time.Hour}, wantErr: "over the maximum"},
		{name: "negative", args: structs.ClientIntroductionTokenArgs{TTL: -time.Second}, wantErr: "must not be negative"},
		{name: "unknown pool", args: structs.ClientIntroductionTokenArgs{NodePool: "nope"}, wantErr: `node pool "nope" not found`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token, err := s.CreateClientIntroductionToken(&tc.args)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want invalid: %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := verifiedClaims(t, s, token)
			if c["nomad_node_pool"] != tc.pool || c["aud"] != identity.NodeAudience {
				t.Errorf("claims %v", c)
			}
			if tc.args.NodeName != "" && c["nomad_node_name"] != tc.args.NodeName {
				t.Errorf("nomad_node_name = %v, want %s", c["nomad_node_name"], tc.args.NodeName)
			}
			if got := time.Duration(c["exp"].(float64)-c["iat"].(float64)) * time.Second; got != tc.ttl {
				t.Errorf("lifetime %v, want %v", got, tc.ttl)
			}
		})
	}
}
