package server

import (
	"fmt"
	"time"

	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/structs"
)

// Bounds of client introduction tokens' TTL: the default when a request
// names none, and the longest one granted.
const (
	DefaultIntroductionTTL = 5 * time.Minute
	MaxIntroductionTTL     = 24 * time.Hour
)

// SignNodeIdentity signs a node's identity: a JWT naming the node, its
// pool and datacenter, valid for its pool's node_identity_ttl (24 hours
// by default). Any server can sign; one that does not know the node yet
// asks the leader.
func (s *Server) SignNodeIdentity(nodeID string) (string, error) {
	snap := s.State().Snapshot()
	node, err := snap.NodeByID(nodeID)
	if err != nil {
		return "", err
	}
	if node == nil {
		var reply structs.NodeSignIdentityReply
		if done, err := s.forward("Node.SignIdentity", &structs.NodeSignIdentityArgs{NodeID: nodeID}, &reply); done {
			return reply.JWT, err
		}
		return "", fmt.Errorf("node %s: %w", nodeID, ErrNotFound)
	}
	ttl := identity.DefaultNodeIdentityTTL
	if pool, err := snap.NodePoolByName(node.NodePool); err != nil {
		return "", err
	} else if pool != nil && pool.NodeIdentityTTL > 0 {
		ttl = pool.NodeIdentityTTL
	}
	kid, key, err := s.signingKey(snap)
	if err != nil {
		return "", err
	}
	claims := identity.NewNodeClaims(identity.Node{Region: s.config.Region, ID: node.ID, Pool: node.NodePool,
		Datacenter: node.Datacenter}, ttl, time.Now())
	return identity.Sign(key, kid, claims)
}

// CreateClientIntroductionToken signs a client introduction token: a JWT
// for a new node (named NodeName, when given) to join pool NodePool
// ("default" when empty), valid for TTL (DefaultIntroductionTTL when
// zero, at most MaxIntroductionTTL).
func (s *Server) CreateClientIntroductionToken(args *structs.ClientIntroductionTokenArgs) (string, error) {
	pool := args.NodePool
	if pool == "" {
		pool = structs.NodePoolDefault
	}
	ttl := args.TTL
	switch {
	case ttl < 0:
		return "", fmt.Errorf("%w: introduction token TTL must not be negative", ErrInvalid)
	case ttl == 0:
		ttl = DefaultIntroductionTTL
	case ttl > MaxIntroductionTTL:
		return "", fmt.Errorf("%w: introduction token TTL %s is over the maximum of %s", ErrInvalid, ttl, MaxIntroductionTTL)
	}
	snap := s.State().Snapshot()
	if p, err := snap.NodePoolByName(pool); err != nil {
		return "", err
	} else if p == nil {
		return "", fmt.Errorf("%w: node pool %q not found", ErrInvalid, pool)
	}
	kid, key, err := s.signingKey(snap)
	if err != nil {
		return "", err
	}
	return identity.Sign(key, kid, identity.NewIntroductionClaims(s.config.Region, args.NodeName, pool, ttl, time.Now()))
}

// SignIdentity signs the identity of the calling node.
func (e *nodeEndpoint) SignIdentity(args *structs.NodeSignIdentityArgs, reply *structs.NodeSignIdentityReply) error {
	if err := e.s.checkNodeSecret(&args.NodeAuth, args.NodeID, false); err != nil {
		return err
	}
	var err error
	reply.JWT, err = e.s.SignNodeIdentity(args.NodeID)
	return err
}
