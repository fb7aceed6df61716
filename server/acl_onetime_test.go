package server

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestOneTimeTokens creates one-time tokens and exchanges them: once
// only, never for the anonymous caller, never once expired; expired ones
// are collected, and a live one survives a restart.
func TestOneTimeTokens(t *testing.T) {
	dir := t.TempDir()
	s := testACLServer(t, dir)
	putPolicy(t, s, "reader", `namespace "default" { policy = "read" }`)
	tok := putToken(t, s, &api.ACLToken{Name: "r", Type: structs.ACLClientToken, Policies: []string{"reader"}})

	if _, err := s.UpsertOneTimeToken(&structs.OneTimeTokenUpsertArgs{}); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("anonymous one-time token: err = %v, want permission denied", err)
	}
	if _, err := s.UpsertOneTimeToken(&structs.OneTimeTokenUpsertArgs{WriteRequest: structs.WriteRequest{AuthToken: "8d2b5a7e-0000-0000-0000-000000000000"}}); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("unknown token's one-time token: err = %v, want token not found", err)
	}
	created, err := s.UpsertOneTimeToken(&structs.OneTimeTokenUpsertArgs{WriteRequest: structs.WriteRequest{AuthToken: tok.SecretID}})
	if err != nil {
		t.Fatal(err)
	}
	ott := created.Token
	if ott.AccessorID != tok.AccessorID || ott.OneTimeSecretID == "" || created.Index == 0 {
		t.Fatalf("one-time token = %+v", ott)
	}
	if ttl := time.Until(ott.ExpiresAt); ttl < 9*time.Minute || ttl > structs.OneTimeTokenTTL {
		t.Fatalf("one-time token expires in %v, want 10m", ttl)
	}

	// A restart keeps the token that was not exchanged yet.
	s.Shutdown()
	s = testACLServer(t, dir)
	waitFor(t, "the one-time token after a restart", func() bool {
		kept, err := s.State().Snapshot().OneTimeTokenBySecret(ott.OneTimeSecretID)
		return err == nil && kept != nil
	})

	got, err := s.ExchangeOneTimeToken(&structs.OneTimeTokenExchangeArgs{OneTimeSecretID: ott.OneTimeSecretID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Token.AccessorID != tok.AccessorID || got.Token.SecretID != tok.SecretID {
		t.Fatalf("exchanged for %+v, want token %s", got.Token, tok.AccessorID)
	}
	if _, err := s.ExchangeOneTimeToken(&structs.OneTimeTokenExchangeArgs{OneTimeSecretID: ott.OneTimeSecretID}); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("second exchange: err = %v, want permission denied", err)
	}

	expired := &api.OneTimeToken{OneTimeSecretID: "0b7d0a52-5c3e-4c59-9d65-3a1f0c2e9b11", AccessorID: tok.AccessorID,
		ExpiresAt: time.Now().Add(-time.Second)}
	if _, err := s.raftApply(structs.OneTimeTokenUpsertRequestType, &structs.OneTimeTokenUpsertRequest{Token: expired}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExchangeOneTimeToken(&structs.OneTimeTokenExchangeArgs{OneTimeSecretID: expired.OneTimeSecretID}); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired exchange: err = %v, want token expired", err)
	}
	if _, err := s.raftApply(structs.OneTimeTokenUpsertRequestType, &structs.OneTimeTokenUpsertRequest{Token: expired}); err != nil {
		t.Fatal(err)
	}
	live, err := s.UpsertOneTimeToken(&structs.OneTimeTokenUpsertArgs{WriteRequest: structs.WriteRequest{AuthToken: tok.SecretID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.GarbageCollect(""); err != nil {
		t.Fatal(err)
	}
	left, err := s.State().Snapshot().OneTimeTokens()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].OneTimeSecretID != live.Token.OneTimeSecretID {
		t.Fatalf("after GC: %+v, want only the live one-time token", left)
	}
}

// TestCollectExpiredTokens removes ACL tokens expired for longer than the
// threshold (any expired one when the collection is forced), and keeps
// live ones.
func TestCollectExpiredTokens(t *testing.T) {
	s := testACLServer(t, "")
	putPolicy(t, s, "reader", `namespace "default" { policy = "read" }`)
	now := time.Now()
	tokens := map[string]*time.Time{
		"long-expired": ptr(now.Add(-2 * DefaultACLTokenGCThreshold)), "just-expired": ptr(now.Add(-time.Minute)),
		"live": ptr(now.Add(time.Hour)), "forever": nil,
	}
	accessors := map[string]string{}
	var upserts []*api.ACLToken
	for name, exp := range tokens {
		tok := &api.ACLToken{AccessorID: "00000000-0000-0000-0000-" + fmt.Sprintf("%012d", len(upserts)), SecretID: name + "-secret",
			Name: name, Type: structs.ACLClientToken, Policies: []string{"reader"}, ExpirationTime: exp}
		accessors[name] = tok.AccessorID
		upserts = append(upserts, tok)
	}
	if _, err := s.raftApply(structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: upserts}); err != nil {
		t.Fatal(err)
	}
	left := func() map[string]bool {
		out := map[string]bool{}
		all, err := s.State().Snapshot().ACLTokens()
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range all {
			out[tok.Name] = true
		}
		return out
	}
	cases := []struct {
		name      string
		threshold time.Duration
		want      []string
	}{
		{"periodic", gcThreshold, []string{"just-expired", "live", "forever"}},
		{"forced", 0, []string{"live", "forever"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.collectGarbage(tc.threshold); err != nil {
				t.Fatal(err)
			}
			got := left()
			for name := range tokens {
				if want := slices.Contains(tc.want, name); got[name] != want {
					t.Errorf("token %s kept = %v, want %v", name, got[name], want)
				}
			}
		})
	}
}
