package identity

import (
	"crypto/rsa"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Algorithm is the JWS algorithm identities are signed with, as Nomad's.
const Algorithm = jose.RS256

// PublicKey is one key that verifies identities: a keyring root key's
// public signing key.
type PublicKey struct {
	KeyID string
	Key   *rsa.PublicKey
	// CreateTime is when the root key was made (Unix nanoseconds).
	CreateTime int64
}

// KeySet is the JSON Web Key Set of keys, as /.well-known/jwks.json
// serves it: one RS256 signing key per root key, kid = the key's ID.
func KeySet(keys []PublicKey) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.KeyID, Algorithm: string(Algorithm), Use: "sig"})
	}
	return set
}

// Discovery is the OpenID Connect discovery document of an issuer, as
// /.well-known/openid-configuration serves it.
type Discovery struct {
	Issuer           string   `json:"issuer"`
	JWKSURI          string   `json:"jwks_uri"`
	ResponseTypes    []string `json:"response_types_supported"`
	SubjectTypes     []string `json:"subject_types_supported"`
	SigningAlgValues []string `json:"id_token_signing_alg_values_supported"`
}

// DiscoveryFor is the discovery document of issuer (the server's
// oidc_issuer), whose keys are at issuer/.well-known/jwks.json.
func DiscoveryFor(issuer string) Discovery {
	return Discovery{
		Issuer:           issuer,
		JWKSURI:          strings.TrimSuffix(issuer, "/") + "/.well-known/jwks.json",
		ResponseTypes:    []string{"code"},
		SubjectTypes:     []string{"public"},
		SigningAlgValues: []string{string(Algorithm)},
	}
}
