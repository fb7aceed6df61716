package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/nomad/api"
)

func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testWorkload = Workload{Region: "global", Namespace: "default", JobID: "web", Group: "frontend", Task: "server", AllocID: "8d2b5a7e-0000-0000-0000-000000000001"}

func TestNewClaims(t *testing.T) {
	now := time.Unix(1700000000, 0)
	cases := []struct {
		name    string
		wid     *api.WorkloadIdentity
		issuer  string
		wantSub string
		wantExp bool
	}{
		{name: "default identity never expires", wid: TaskIdentities(&api.Task{Name: "server"})[0],
			wantSub: "global:default:web:frontend:server:default"},
		{name: "named identity with ttl", wid: &api.WorkloadIdentity{Name: "vault", Audience: []string{"vault.io"}, TTL: time.Hour},
			issuer: "https://nomad.example.com", wantSub: "global:default:web:frontend:server:vault", wantExp: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClaims(testWorkload, tc.wid, tc.issuer, now)
			if c.Subject != tc.wantSub || c.Namespace != "default" || c.JobID != "web" || c.Task != "server" || c.AllocationID != testWorkload.AllocID {
				t.Errorf("claims = %+v", c)
			}
			if c.Issuer != tc.issuer || !c.IssuedAt.Time().Equal(now) || !c.NotBefore.Time().Equal(now) {
				t.Errorf("iss %q iat %v nbf %v", c.Issuer, c.IssuedAt, c.NotBefore)
			}
			if (c.Expiry != nil) != tc.wantExp || (tc.wantExp && !c.Expiry.Time().Equal(now.Add(tc.wid.TTL))) {
				t.Errorf("exp = %v, want set %v", c.Expiry, tc.wantExp)
			}
			if len(c.Audience) == 0 || c.Audience[0] != tc.wid.Audience[0] {
				t.Errorf("aud = %v", c.Audience)
			}
		})
	}
}

func TestTaskIdentities(t *testing.T) {
	ids := TaskIdentities(&api.Task{Identity: &api.WorkloadIdentity{Env: true}, Identities: []*api.WorkloadIdentity{{Name: "vault"}}})
	if len(ids) != 2 || ids[0].Name != DefaultName || !ids[0].Env || ids[0].Audience[0] != DefaultAudience || ids[1].Name != "vault" {
		t.Fatalf("identities = %+v", ids)
	}
}

// TestVerify signs and verifies tokens, and refuses every kind of bad one.
func TestVerify(t *testing.T) {
	key, other := testKey(t), testKey(t)
	now := time.Now()
	keys := func(kid string) (*rsa.PublicKey, error) {
		if kid == "k1" {
			return &key.PublicKey, nil
		}
		return nil, fmt.Errorf("no key %s", kid)
	}
	sign := func(k *rsa.PrivateKey, kid string, ttl time.Duration, at time.Time) string {
		tok, err := Sign(k, kid, NewClaims(testWorkload, &api.WorkloadIdentity{Name: "default", Audience: []string{"nomad.io"}, TTL: ttl}, "", at))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(key, "k1", time.Hour, now)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"nomad_job_id":"web"`, `"nomad_job_id":"db"`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	hmacToken, _ := jwt.Signed(hs).Claims(NewClaims(testWorkload, &api.WorkloadIdentity{}, "", now)).Serialize()
	noTask := *NewClaims(testWorkload, &api.WorkloadIdentity{}, "", now)
	noTask.Task = ""
	noTaskToken, _ := Sign(key, "k1", &noTask)

	cases := []struct {
		name    string
		token   string
		wantErr error
	}{
		{name: "valid", token: good},
		{name: "no ttl: no exp", token: sign(key, "k1", 0, now.Add(-24*time.Hour))},
		{name: "expired", token: sign(key, "k1", time.Minute, now.Add(-time.Hour)), wantErr: ErrExpired},
		{name: "not valid yet", token: sign(key, "k1", time.Hour, now.Add(time.Hour)), wantErr: ErrNotYet},
		{name: "signed with another key under a known kid", token: sign(other, "k1", time.Hour, now), wantErr: ErrSignature},
		{name: "unknown kid", token: sign(key, "k2", time.Hour, now), wantErr: ErrUnknownKey},
		{name: "no kid", token: sign(key, "", time.Hour, now), wantErr: ErrUnknownKey},
		{name: "tampered claims", token: tampered, wantErr: ErrSignature},
		{name: "tampered signature", token: parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4] + "AAAA", wantErr: ErrSignature},
		{name: "HS256 instead of RS256", token: hmacToken, wantErr: ErrMalformed},
		{name: "garbage", token: "a.b.c", wantErr: ErrMalformed},
		{name: "no task claim", token: noTaskToken, wantErr: ErrNoWorkload},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Verify(tc.token, keys, now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (c.JobID != "web" || c.Task != "server") {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestLooksLike(t *testing.T) {
	cases := []struct {
		name   string
		secret string
		want   bool
	}{
		{"ACL token secret", "8d2b5a7e-0000-0000-0000-000000000000", false},
		{"empty", "", false},
		{"JWT", strings.Repeat("a", 40) + "." + strings.Repeat("b", 40) + "." + strings.Repeat("c", 40), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := LooksLike(tc.secret); got != tc.want {
				t.Errorf("LooksLike(%q) = %v", tc.secret, got)
			}
		})
	}
}

func TestKeySet(t *testing.T) {
	key := testKey(t)
	set := KeySet([]PublicKey{{KeyID: "k1", Key: &key.PublicKey}})
	if len(set.Keys) != 1 || set.Keys[0].KeyID != "k1" || set.Keys[0].Use != "sig" || set.Keys[0].Algorithm != "RS256" {
		t.Fatalf("key set = %+v", set)
	}
	if got := KeySet(nil); got.Keys == nil {
		t.Error("an empty key set must encode as [] (JWKS consumers reject null)")
	}
}
