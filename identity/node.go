package identity

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/go-uuid"
)

// NodeAudience is the audience of node identities and introduction
// tokens, as Nomad's.
const NodeAudience = "nomadproject.io"

// DefaultNodeIdentityTTL is how long a node identity is valid when its
// node pool sets no node_identity_ttl, as in Nomad.
const DefaultNodeIdentityTTL = 24 * time.Hour

// NodeClaims are a node identity's claims, as Nomad names them: the node
// is authenticated as itself, in its pool and datacenter.
type NodeClaims struct {
	NodeID         string `json:"nomad_node_id"`
	NodePool       string `json:"nomad_node_pool"`
	NodeDatacenter string `json:"nomad_node_datacenter"`
	jwt.Claims
}

// Node is what a node identity is issued for.
type Node struct {
	Region, ID, Pool, Datacenter string
}

// NewNodeClaims builds the claims of node n's identity, valid for ttl from
// now. Its subject is node:region:pool:id:default.
func NewNodeClaims(n Node, ttl time.Duration, now time.Time) *NodeClaims {
	jti, _ := uuid.GenerateUUID()
	return &NodeClaims{
		NodeID: n.ID, NodePool: n.Pool, NodeDatacenter: n.Datacenter,
		Claims: jwt.Claims{
			ID:        jti,
			Subject:   strings.Join([]string{"node", n.Region, n.Pool, n.ID, DefaultName}, ":"),
			Audience:  jwt.Audience{NodeAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
		},
	}
}

// IntroductionClaims are a client introduction token's claims: who may
// register as a new node (a node name, when scoped to one) in which pool.
type IntroductionClaims struct {
	NodeName string `json:"nomad_node_name,omitempty"`
	NodePool string `json:"nomad_node_pool"`
	jwt.Claims
}

// NewIntroductionClaims builds the claims of a client introduction token
// for a node named name (any, when empty) in pool, valid for ttl from now.
// Its subject is node-introduction:region:pool:name:default.
func NewIntroductionClaims(region, name, pool string, ttl time.Duration, now time.Time) *IntroductionClaims {
	jti, _ := uuid.GenerateUUID()
	return &IntroductionClaims{
		NodeName: name, NodePool: pool,
		Claims: jwt.Claims{
			ID:        jti,
			Subject:   strings.Join([]string{"node-introduction", region, pool, name, DefaultName}, ":"),
			Audience:  jwt.Audience{NodeAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
		},
	}
}

// TokenClaims reads the claims of a signed token without checking its
// signature: for the holder of its own identity, which it got from the
// servers, to show or to time its renewal.
func TokenClaims(token string) (map[string]any, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Algorithm})
	if err != nil {
		return nil, ErrMalformed
	}
	var claims map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return claims, nil
}
