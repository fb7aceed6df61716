package agent

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/server"
)

// testIdentityAPI serves the agent's routes over a single server with
// oidc_issuer set to issuer.
func testIdentityAPI(t *testing.T, issuer string) (*httptest.Server, *server.Server) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{NodeName: "test.global", Region: "global", Datacenter: "dc1",
		NumSchedulers: 1, OIDCIssuer: issuer, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	a := &Agent{config: DefaultConfig(), logger: logger, server: srv}
	ts := httptest.NewServer(a.routes())
	t.Cleanup(ts.Close)
	return ts, srv
}

func getJSON(t *testing.T, url string, into any) (int, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("decode %s: %v", url, err)
		}
	}
	return resp.StatusCode, resp.Header
}

// TestJWKSServesTheKeyringsPublicKeys: a new cluster has one root key,
// served as one RS256 signing key named by the key's ID.
func TestJWKSServesTheKeyringsPublicKeys(t *testing.T) {
	ts, srv := testIdentityAPI(t, "")
	var set jose.JSONWebKeySet
	code, hdr := getJSON(t, ts.URL+"/.well-known/jwks.json", &set)
	if code != http.StatusOK {
		t.Fatalf("jwks.json: %d", code)
	}
	if hdr.Get("X-Nomad-Index") == "" {
		t.Error("jwks.json has no X-Nomad-Index: not a blocking query")
	}
	keys, _, err := srv.PublicSigningKeys(srv.State().Snapshot())
	if err != nil || len(keys) != 1 {
		t.Fatalf("keyring signing keys: %v, %v", keys, err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("jwks.json has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.KeyID != keys[0].KeyID || k.Use != "sig" || k.Algorithm != "RS256" {
		t.Errorf("key = kid %q use %q alg %q; want kid %q, sig, RS256", k.KeyID, k.Use, k.Algorithm, keys[0].KeyID)
	}
	if pub, ok := k.Key.(*rsa.PublicKey); !ok || !pub.Equal(keys[0].Key) || pub.N.BitLen() != 2048 {
		t.Errorf("served key %T is not the keyring's RSA 2048 public key", k.Key)
	}
}

func TestOIDCDiscovery(t *testing.T) {
	cases := []struct {
		name     string
		issuer   string
		wantCode int
		wantJWKS string
	}{
		{name: "no oidc_issuer: disabled", wantCode: http.StatusNotFound},
		{name: "oidc_issuer set", issuer: "https://nomad.example.com/", wantCode: http.StatusOK,
			wantJWKS: "https://nomad.example.com/.well-known/jwks.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := testIdentityAPI(t, tc.issuer)
			var doc identity.Discovery
			code, _ := getJSON(t, ts.URL+"/.well-known/openid-configuration", &doc)
			if code != tc.wantCode {
				t.Fatalf("status %d, want %d", code, tc.wantCode)
			}
			if code != http.StatusOK {
				return
			}
			if doc.Issuer != tc.issuer || doc.JWKSURI != tc.wantJWKS || len(doc.SigningAlgValues) != 1 || doc.SigningAlgValues[0] != "RS256" {
				t.Errorf("discovery = %+v", doc)
			}
		})
	}
}

// TestBadWorkloadIdentitiesAnswer403 sends identity-shaped tokens that
// must not verify through the HTTP API: each is refused with 403 and
// nothing is registered.
func TestBadWorkloadIdentitiesAnswer403(t *testing.T) {
	a, mgmt := testACLAgent(t)
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := a.server.PublicSigningKeys(a.server.State().Snapshot())
	if err != nil || len(keys) == 0 {
		t.Fatalf("signing keys: %v", err)
	}
	w := identity.Workload{Region: "global", Namespace: "default", JobID: "web", Group: "g", Task: "t", AllocID: "8d2b5a7e-0000-0000-0000-000000000000"}
	forged, err := identity.Sign(foreign, keys[0].KeyID, identity.NewClaims(w, &api.WorkloadIdentity{}, "", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, token string }{
		{"signed with a key the keyring lacks, under its kid", forged},
		{"malformed", strings.Repeat("e", 40) + "." + strings.Repeat("f", 40) + "." + strings.Repeat("g", 40)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/jobs", strings.NewReader(jobBody))
			req.Header.Set("X-Nomad-Token", tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "ACL token is invalid") {
				t.Fatalf("status %d %q, want 403", resp.StatusCode, body)
			}
		})
	}
	c, _ := api.NewClient(&api.Config{Address: "http://" + a.HTTPAddr(), SecretID: mgmt})
	if jobs, _, err := c.Jobs().List(nil); err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after refused registrations: %v, %v", jobs, err)
	}
}
