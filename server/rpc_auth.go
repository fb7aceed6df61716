package server

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
	"github.com/roam-project/roam/tlsutil"
)

// Who may use the RPC port, and for what:
//
//   - With tls { rpc = true } every connection is mutual TLS; the peer's
//     certificate names its role: server.<region>.nomad is a server,
//     client.<region>.nomad a client. With verify_server_hostname off, a
//     CA-signed certificate naming neither acts as a server (Nomad's trust
//     model).
//   - Without TLS, a server proves it knows the cluster secret (derived from
//     server.encrypt) by an HMAC over the connection's challenge. With no
//     secret at all, the only check left is Nomad's: the caller's address is
//     a known server's.
//   - A server of another region (server.<other>.nomad) may forward HTTP
//     requests through a tunnel and pull replicated state, nothing more:
//     without TLS it cannot be told apart from a server of this region.
//   - No RPC hands out key material: root keys reach other servers only
//     through Raft, which only servers may open.
//   - Clients may make only the calls a client makes, and each carries the
//     node's SecretID, which must match the one the node registered with.

// clientMethods are the calls a client may make.
var clientMethods = map[string]bool{
	"Node.Register": true, "Node.Heartbeat": true, "Node.GetAllocs": true, "Node.UpdateAllocs": true,
	"Node.GetClientAllocs": true, "Alloc.GetAllocs": true,
	"ServiceRegistration.Upsert": true, "ServiceRegistration.Delete": true, "Status.Leader": true,
	// The task runner asks for its task's workload identities.
	"Alloc.SignIdentities": true,
	// Templates' lookups: each checks the ACL token it carries (the
	// task's workload identity).
	"Var.Read": true, "Var.List": true, "ServiceRegistration.List": true,
	// The cluster network: a node's subnet lease and the other nodes',
	// and the allocations' addresses network policies match on.
	"Network.Lease": true, "Network.Leases": true, "Network.Addresses": true,
	// The node's own identity.
	"Node.SignIdentity": true,
	// Dynamic host volumes placed on the node.
	"Node.GetHostVolumes": true, "Node.UpdateHostVolume": true,
	// A client-only agent resolves the tokens of the HTTP requests it
	// serves itself (task files and logs).
	"ACL.ResolveToken": true,
}

// regionMethods are the calls a server of another region may make,
// besides forwarding HTTP requests in tunnels.
var regionMethods = map[string]bool{
	"Replication.Fetch": true, "Status.Leader": true,
	"Multiregion.Register": true, "Multiregion.Fail": true, "Multiregion.Job": true,
	// job stop -global, with the caller's token, which the region checks.
	"Job.Deregister": true,
}

// nodeSecretAttr is the node attribute holding the SHA-256 of the node's
// SecretID: the secret itself is never stored.
const nodeSecretAttr = "unique.roam.secret_id_sha256"

// authorizeRPC decides whether peer may call method.
func authorizeRPC(peer rpc.Peer, method string) error {
	switch {
	case peer.Role == rpc.RoleServer:
		return nil
	case peer.Role == rpc.RoleClient && clientMethods[method]:
		return nil
	case peer.Role == rpc.RoleRegion && regionMethods[method]:
		return nil
	}
	return fmt.Errorf("Permission denied: %s may not be called by a %s", method, peer.Role)
}

// rpcSecurity is the RPC port's authentication.
func (s *Server) rpcSecurity() rpc.Security {
	sec := rpc.Security{Authenticate: s.authenticateRPC, Authorize: authorizeRPC, Dial: s.dialConfig()}
	if s.config.TLS != nil {
		sec.TLS = s.config.TLS.IncomingRPC()
	}
	return sec
}

// dialConfig is how this server dials other servers.
func (s *Server) dialConfig() rpc.DialConfig {
	dc := rpc.DialConfig{Role: rpc.RoleServer, Secret: s.clusterSecret}
	if s.config.TLS != nil {
		dc.TLS = s.config.TLS.Outgoing
	}
	return dc
}

// authenticateRPC turns a connection's handshake into a peer.
func (s *Server) authenticateRPC(ci rpc.ConnInfo) (rpc.Peer, error) {
	secret := s.clusterSecret
	proven := len(secret) > 0 && rpc.ValidProof(secret, ci.Nonce, ci.Hello.Proof)
	if ci.TLS != nil {
		switch tlsutil.PeerRole(*ci.TLS, s.config.Region) {
		case tlsutil.RoleServer:
			return rpc.Peer{Role: rpc.RoleServer}, nil
		case tlsutil.RoleClient:
			return rpc.Peer{Role: rpc.RoleClient}, nil
		}
		if region, ok := tlsutil.PeerServerRegion(*ci.TLS); ok && region != s.config.Region {
			return rpc.Peer{Role: rpc.RoleRegion}, nil
		}
		if s.config.TLS.Config().VerifyServerHostname {
			return rpc.Peer{}, fmt.Errorf("certificate names neither %s nor %s (verify_server_hostname is on)",
				tlsutil.RoleName(tlsutil.RoleServer, s.config.Region), tlsutil.RoleName(tlsutil.RoleClient, s.config.Region))
		}
		if ci.Hello.Role == rpc.RoleServer {
			return rpc.Peer{Role: rpc.RoleServer}, nil
		}
		return rpc.Peer{Role: rpc.RoleClient}, nil
	}
	switch ci.Hello.Role {
	case rpc.RoleClient:
		return rpc.Peer{Role: rpc.RoleClient}, nil
	case rpc.RoleServer:
		if len(secret) > 0 {
			if !proven {
				return rpc.Peer{}, errors.New("server authentication failed: wrong cluster secret (do both servers have the same server.encrypt?)")
			}
			return rpc.Peer{Role: rpc.RoleServer}, nil
		}
		if s.isServerAddr(ci.Remote) {
			return rpc.Peer{Role: rpc.RoleServer}, nil
		}
		return rpc.Peer{}, errors.New("server authentication failed: not a known server's address, and no cluster secret (set server.encrypt or tls) to prove otherwise")
	}
	return rpc.Peer{}, fmt.Errorf("unknown role %q", ci.Hello.Role)
}

// isServerAddr reports whether addr's IP is that of another server: a
// Raft peer or a server known from gossip, this one excluded (so a lone
// server lets no one in as a server). Until the server has started it
// knows no other server.
func (s *Server) isServerAddr(addr net.Addr) bool {
	if !s.started.Load() {
		return false
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	self := s.rpcAdvertise()
	if peers, err := s.Peers(); err == nil {
		for _, p := range peers {
			h, _, err := net.SplitHostPort(p)
			if err == nil && p != self && p != s.config.RPCAdvertise && net.ParseIP(h).Equal(ip) {
				return true
			}
		}
	}
	for _, m := range s.Members() {
		if m.Name != s.config.NodeName && m.Tags["role"] == "nomad" && m.Addr.Equal(ip) {
			return true
		}
	}
	return false
}

// deriveClusterSecret derives the RPC cluster secret from the gossip
// encryption key, so that servers sharing server.encrypt share it without
// another setting, and the gossip key itself never crosses the RPC port.
func deriveClusterSecret(encryptKey []byte) ([]byte, error) {
	secret, err := hkdf.Key(sha256.New, encryptKey, nil, "roam rpc cluster secret", 32)
	if err != nil {
		return nil, fmt.Errorf("derive cluster secret: %w", err)
	}
	return secret, nil
}

// secretHash is the stored form of a node SecretID.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// checkNodeSecret verifies a client's call: the node it acts for must
// exist with the SecretID the call carries. A server forwarding a call has
// checked it already. register allows a node not seen before (its first
// registration records the secret).
func (s *Server) checkNodeSecret(auth *structs.NodeAuth, nodeID string, register bool) error {
	if auth.CallerIsServer() {
		return nil
	}
	if auth.SecretID == "" {
		return errors.New("Permission denied: the call carries no node SecretID")
	}
	if auth.AuthNodeID != "" && auth.AuthNodeID != nodeID {
		return fmt.Errorf("Permission denied: the call acts for node %s but authenticates as node %s", nodeID, auth.AuthNodeID)
	}
	// The node count is read before the lookup, so that a node written
	// meanwhile makes the entry remembered below stale.
	store := s.State()
	writes := store.NodeWrites()
	cached, ok := s.secrets.lookup(nodeID)
	if ok && cached.current(store, writes, auth.SecretID) {
		return nil
	}
	node, err := store.Snapshot().NodeByID(nodeID)
	if err != nil {
		return err
	}
	if node == nil {
		s.secrets.forget(nodeID)
		if register {
			return nil
		}
		return fmt.Errorf("node %s: %w", nodeID, ErrNotFound)
	}
	want := node.Attributes[nodeSecretAttr]
	if want == "" || !(ok && cached.matches(want, auth.SecretID)) && !sameSecret(want, secretHash(auth.SecretID)) {
		return fmt.Errorf("Permission denied: wrong SecretID for node %s", nodeID)
	}
	s.secrets.remember(nodeID, verifiedSecret{store: store, nodeWrites: writes, hash: want, secret: auth.SecretID})
	return nil
}

// withSecretHash returns a copy of node carrying the hash of secret, as the
// first registration records it.
func withSecretHash(node *api.Node, secret string) *api.Node {
	n := *node
	n.Attributes = make(map[string]string, len(node.Attributes)+1)
	for k, v := range node.Attributes {
		n.Attributes[k] = v
	}
	n.Attributes[nodeSecretAttr] = secretHash(secret)
	return &n
}

// checkAllocsOfNode verifies that every allocation update is of an
// allocation placed on nodeID.
func (s *Server) checkAllocsOfNode(auth *structs.NodeAuth, updates []*api.Allocation) error {
	if auth.CallerIsServer() {
		return nil
	}
	snap := s.State().Snapshot()
	for _, u := range updates {
		stored, err := snap.AllocByIDAsListed(u.ID)
		if err != nil {
			return err
		}
		if stored != nil && stored.NodeID != auth.AuthNodeID {
			return fmt.Errorf("Permission denied: allocation %s is not on node %s", u.ID, auth.AuthNodeID)
		}
	}
	return nil
}
