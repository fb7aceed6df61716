package identity

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors of verification; each one means the token is refused.
var (
	ErrMalformed  = errors.New("workload identity is not a well-formed signed JWT")
	ErrUnknownKey = errors.New("workload identity is signed with a key the keyring does not hold")
	ErrSignature  = errors.New("workload identity signature is invalid")
	ErrExpired    = errors.New("workload identity has expired")
	ErrNotYet     = errors.New("workload identity is not valid yet")
	ErrNoWorkload = errors.New("workload identity names no allocation and task")
)

// Sign signs claims (*Claims, *NodeClaims, *IntroductionClaims) with key,
// naming the key kid in the JWT header.
func Sign(key *rsa.PrivateKey, kid string, c any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("identity signer: %w", err)
	}
	token, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign identity: %w", err)
	}
	return token, nil
}

// LooksLike reports whether secret has the shape of a JWT (three
// base64url parts), as opposed to an ACL token's UUID secret.
func LooksLike(secret string) bool {
	return strings.Count(secret, ".") == 2 && len(secret) > 64
}

// KeyLookup returns the public key named kid, or an error when there is
// none.
type KeyLookup func(kid string) (*rsa.PublicKey, error)

// clockSkew is how far servers' clocks may differ: a token a server whose
// clock runs ahead signed is still valid on the others.
const clockSkew = 5 * time.Second

// maxTokenSize bounds what is parsed at all.
const maxTokenSize = 16 << 10

// Verify checks token's signature with the key its header names, and its
// validity at now (nbf, exp, within clockSkew), and returns its claims.
func Verify(token string, keys KeyLookup, now time.Time) (*Claims, error) {
	if len(token) > maxTokenSize {
		return nil, ErrMalformed
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Algorithm})
	if err != nil || len(parsed.Headers) != 1 {
		return nil, ErrMalformed
	}
	kid := parsed.Headers[0].KeyID
	if kid == "" {
		return nil, ErrUnknownKey
	}
	pub, err := keys(kid)
	if err != nil || pub == nil {
		return nil, ErrUnknownKey
	}
	var c Claims
	if err := parsed.Claims(pub, &c); err != nil {
		return nil, ErrSignature
	}
	switch err := c.Claims.ValidateWithLeeway(jwt.Expected{Time: now}, clockSkew); {
	case errors.Is(err, jwt.ErrExpired):
		return nil, ErrExpired
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, ErrNotYet
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if c.AllocationID == "" || c.Task == "" || c.Namespace == "" || c.JobID == "" {
		return nil, ErrNoWorkload
	}
	return &c, nil
}
