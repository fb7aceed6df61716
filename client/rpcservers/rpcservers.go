// Package rpcservers lets a client reach the server cluster over RPC: it
// implements client.Servers, fails over from a dead server to the next, and
// learns the full server list from whichever server answers.
package rpcservers

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
)

// callTimeout bounds one non-blocking call; blocking calls add their wait.
const callTimeout = 15 * time.Second

// defaultRPCPort is appended to server addresses given without a port.
const defaultRPCPort = "4647"

// Set is a client's view of the servers.
type Set struct {
	pool *rpc.Pool
	// auth identifies the node on every call.
	auth    structs.NodeAuth
	mu      sync.Mutex
	servers []string
	// next is the index of the server to try first.
	next int

	// allocs are the node's allocations as last fetched, by ID, as of
	// the answer at allocsIndex.
	cacheMu     sync.Mutex
	allocs      map[string]*api.Allocation
	allocsIndex uint64
}

// New returns a Set that starts from the configured addresses
// ("10.0.0.1", "10.0.0.1:4647") and dials them as dc says (TLS or not);
// it introduces itself as a client.
func New(addrs []string, dc rpc.DialConfig) (*Set, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no servers configured: set client.servers")
	}
	dc.Role = rpc.RoleClient
	s := &Set{pool: rpc.NewPool(dc), allocs: map[string]*api.Allocation{}}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, defaultRPCPort)
		}
		s.servers = append(s.servers, a)
	}
	return s, nil
}

// Identify sets the node every call acts for and the node's SecretID,
// which the servers check; call it before the first call.
func (s *Set) Identify(nodeID, secretID string) {
	s.auth = structs.NodeAuth{AuthNodeID: nodeID, SecretID: secretID}
}

// Servers returns the servers currently known.
func (s *Set) Servers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.servers...)
}

// Close drops every connection.
func (s *Set) Close() { s.pool.Close() }

// call tries each known server in turn, starting with the last one that
// answered, until one does. Errors returned by a server itself (an unknown
// node, say) are not retried elsewhere.
func (s *Set) call(ctx context.Context, timeout time.Duration, method string, args, reply any) error {
	servers := s.Servers()
	s.mu.Lock()
	start := s.next
	s.mu.Unlock()
	var lastErr error
	for i := range servers {
		idx := (start + i) % len(servers)
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := s.pool.Call(cctx, servers[idx], method, args, reply)
		cancel()
		if err == nil {
			s.mu.Lock()
			s.next = idx
			s.mu.Unlock()
			return nil
		}
		if _, remote := err.(*rpc.RemoteError); remote {
			return err
		}
		lastErr = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("no server reachable (tried %v): %w", servers, lastErr)
}

// learn replaces the server list with what a server reported.
func (s *Set) learn(servers []string) {
	if len(servers) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current := ""
	if s.next < len(s.servers) {
		current = s.servers[s.next]
	}
	s.servers = append([]string(nil), servers...)
	s.next = 0
	for i, a := range s.servers {
		if a == current {
			s.next = i
		}
	}
}

// RegisterNode implements client.Servers.
func (s *Set) RegisterNode(node *api.Node) (time.Duration, error) {
	var reply structs.HeartbeatReply
	if err := s.call(context.Background(), callTimeout, "Node.Register", &structs.NodeRegisterArgs{Node: node, NodeAuth: s.auth}, &reply); err != nil {
		return 0, err
	}
	s.learn(reply.Servers)
	return reply.TTL, nil
}

// Heartbeat implements client.Servers.
func (s *Set) Heartbeat(nodeID string) (time.Duration, error) {
	var reply structs.HeartbeatReply
	if err := s.call(context.Background(), callTimeout, "Node.Heartbeat", &structs.NodeHeartbeatArgs{NodeID: nodeID, NodeAuth: s.auth}, &reply); err != nil {
		return 0, err
	}
	s.learn(reply.Servers)
	return reply.TTL, nil
}

// NodeAllocations implements client.Servers: a blocking
// Node.GetClientAllocs names the node's allocations with the index at which
// the servers last changed each (AllocModifyIndex), and Alloc.GetAllocs
// fetches only those not already known at that index, so that a change to
// one allocation does not send them all, and the client's own status
// updates send nothing back. A poll from the index of the last answer
// asks for changes only: once the server can tell them, the answer
// carries what changed after it (and names what was removed) rather than
// naming every allocation of the node, and no Alloc.GetAllocs follows.
func (s *Set) NodeAllocations(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.Allocation, uint64, error) {
	s.cacheMu.Lock()
	changes := minIndex != 0 && minIndex == s.allocsIndex
	s.cacheMu.Unlock()
	var list structs.NodeClientAllocsReply
	args := &structs.NodeAllocsArgs{NodeID: nodeID, MinIndex: minIndex, Wait: wait, Changes: changes, NodeAuth: s.auth}
	if err := s.call(ctx, wait+callTimeout, "Node.GetClientAllocs", args, &list); err != nil {
		return nil, 0, err
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if list.Changes && list.Changed != nil {
		s.cacheAllocs(list.Changed)
	}
	var stale []string
	for id, index := range list.Allocs {
		if a, ok := s.allocs[id]; !ok || a.AllocModifyIndex != index {
			stale = append(stale, id)
		}
	}
	if len(stale) > 0 {
		var got structs.AllocsGetReply
		if err := s.call(ctx, callTimeout, "Alloc.GetAllocs", &structs.AllocsGetArgs{AllocIDs: stale, NodeAuth: s.auth}, &got); err != nil {
			return nil, 0, err
		}
		s.cacheAllocs(&got)
	}
	if list.Changes {
		for _, id := range list.Removed {
			delete(s.allocs, id)
		}
	}
	s.allocsIndex = list.Index
	out := make([]*api.Allocation, 0, len(s.allocs))
	for id, a := range s.allocs {
		if _, listed := list.Allocs[id]; !listed && !list.Changes {
			delete(s.allocs, id)
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, list.Index, nil
}

// cacheAllocs stores the allocations of got, each with its job, in the
// cache; the caller holds cacheMu.
func (s *Set) cacheAllocs(got *structs.AllocsGetReply) {
	for i, a := range got.Allocs {
		if i < len(got.AllocJob) && got.AllocJob[i] >= 0 && got.AllocJob[i] < len(got.Jobs) {
			a.Job = got.Jobs[got.AllocJob[i]]
		}
		s.allocs[a.ID] = a
	}
}

// UpdateAllocations implements client.Servers.
func (s *Set) UpdateAllocations(updates []*api.Allocation) error {
	return s.call(context.Background(), callTimeout, "Node.UpdateAllocs", &structs.AllocUpdateArgs{Allocs: updates, NodeAuth: s.auth}, &structs.IndexReply{})
}

// UpsertServiceRegistrations implements client.Servers.
func (s *Set) UpsertServiceRegistrations(regs []*api.ServiceRegistration) error {
	args := &structs.ServiceRegistrationUpsertArgs{Services: regs, NodeAuth: s.auth}
	return s.call(context.Background(), callTimeout, "ServiceRegistration.Upsert", args, &structs.IndexReply{})
}

// DeleteServiceRegistrations implements client.Servers.
func (s *Set) DeleteServiceRegistrations(namespace string, ids []string) (uint64, error) {
	var reply structs.IndexReply
	args := &structs.ServiceRegistrationDeleteArgs{Namespace: namespace, IDs: ids, NodeAuth: s.auth}
	if err := s.call(context.Background(), callTimeout, "ServiceRegistration.Delete", args, &reply); err != nil {
		return 0, err
	}
	return reply.Index, nil
}

// SignIdentities implements client.Servers.
func (s *Set) SignIdentities(args *structs.AllocSignIdentitiesArgs) ([]*structs.SignedIdentity, error) {
	a := *args
	a.NodeAuth = s.auth
	var reply structs.AllocSignIdentitiesReply
	if err := s.call(context.Background(), callTimeout, "Alloc.SignIdentities", &a, &reply); err != nil {
		return nil, err
	}
	return reply.Identities, nil
}

// SignNodeIdentity asks the servers for the node's identity.
func (s *Set) SignNodeIdentity(nodeID string) (string, error) {
	var reply structs.NodeSignIdentityReply
	if err := s.call(context.Background(), callTimeout, "Node.SignIdentity", &structs.NodeSignIdentityArgs{NodeID: nodeID, NodeAuth: s.auth}, &reply); err != nil {
		return "", err
	}
	return reply.JWT, nil
}

// LeaderHTTPAddr asks the servers for the leader's HTTP address.
func (s *Set) LeaderHTTPAddr(ctx context.Context) (string, error) {
	var reply structs.LeaderReply
	if err := s.call(ctx, callTimeout, "Status.Leader", &structs.EmptyArgs{}, &reply); err != nil {
		return "", err
	}
	if reply.HTTPAddr == "" {
		return "", fmt.Errorf("no cluster leader")
	}
	return reply.HTTPAddr, nil
}

// ResolveToken asks the servers for a token and its policies.
func (s *Set) ResolveToken(secret string) (*structs.ACLResolveReply, error) {
	var reply structs.ACLResolveReply
	if err := s.call(context.Background(), callTimeout, "ACL.ResolveToken", &structs.ACLResolveArgs{SecretID: secret}, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// ReadVar implements template.Source with a blocking RPC.
func (s *Set) ReadVar(ctx context.Context, args *structs.VarReadArgs) (*structs.VarReadReply, error) {
	var reply structs.VarReadReply
	a := *args
	a.NodeAuth = s.auth
	if err := s.call(ctx, a.Wait+callTimeout, "Var.Read", &a, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// ListVars implements template.Source with a blocking RPC.
func (s *Set) ListVars(ctx context.Context, args *structs.VarListArgs) (*structs.VarListReply, error) {
	var reply structs.VarListReply
	a := *args
	a.NodeAuth = s.auth
	if err := s.call(ctx, a.Wait+callTimeout, "Var.List", &a, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// ListServiceRegistrations implements template.Source with a blocking RPC.
func (s *Set) ListServiceRegistrations(ctx context.Context, args *structs.ServiceListArgs) (*structs.ServiceListReply, error) {
	var reply structs.ServiceListReply
	a := *args
	a.NodeAuth = s.auth
	if err := s.call(ctx, a.Wait+callTimeout, "ServiceRegistration.List", &a, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// LeaseSubnet asks for the node's subnet of the cluster network.
func (s *Set) LeaseSubnet(args *structs.SubnetLeaseArgs) (*structs.SubnetLease, error) {
	var reply structs.SubnetLeaseReply
	a := *args
	a.NodeAuth = s.auth
	if err := s.call(context.Background(), callTimeout, "Network.Lease", &a, &reply); err != nil {
		return nil, err
	}
	return reply.Lease, nil
}

// LiveSubnetLeases is a blocking query for the live nodes' subnet leases.
func (s *Set) LiveSubnetLeases(ctx context.Context, minIndex uint64, wait time.Duration) ([]*structs.SubnetLease, uint64, error) {
	var reply structs.SubnetLeasesReply
	args := &structs.SubnetLeasesArgs{NodeID: s.auth.AuthNodeID, MinIndex: minIndex, Wait: wait, NodeAuth: s.auth}
	if err := s.call(ctx, wait+callTimeout, "Network.Leases", args, &reply); err != nil {
		return nil, 0, err
	}
	return reply.Leases, reply.Index, nil
}

// AllocAddresses is a blocking query for the live allocations' addresses.
func (s *Set) AllocAddresses(ctx context.Context, minIndex uint64, wait time.Duration) ([]*structs.AllocAddress, uint64, error) {
	var reply structs.AllocAddressesReply
	args := &structs.AllocAddressesArgs{NodeID: s.auth.AuthNodeID, MinIndex: minIndex, Wait: wait, NodeAuth: s.auth}
	if err := s.call(ctx, wait+callTimeout, "Network.Addresses", args, &reply); err != nil {
		return nil, 0, err
	}
	return reply.Addresses, reply.Index, nil
}

// NodeHostVolumes lists the dynamic host volumes placed on the node, with
// a blocking RPC.
func (s *Set) NodeHostVolumes(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.HostVolume, uint64, error) {
	var reply structs.NodeHostVolumesReply
	args := &structs.NodeHostVolumesArgs{NodeID: nodeID, MinIndex: minIndex, Wait: wait, NodeAuth: s.auth}
	if err := s.call(ctx, wait+callTimeout, "Node.GetHostVolumes", args, &reply); err != nil {
		return nil, 0, err
	}
	return reply.Volumes, reply.Index, nil
}

// UpdateHostVolume reports what the client made of a host volume.
func (s *Set) UpdateHostVolume(update *structs.HostVolumeUpdateArgs) error {
	args := *update
	args.NodeAuth = s.auth
	return s.call(context.Background(), callTimeout, "Node.UpdateHostVolume", &args, &structs.IndexReply{})
}
