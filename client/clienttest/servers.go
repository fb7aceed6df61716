// Package clienttest provides an in-memory stand-in for the server cluster
// and allocation builders, for tests of the client and its HTTP endpoints.
package clienttest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// HeartbeatTTL is the TTL the fake servers hand out unless SetHeartbeatTTL
// changed it.
const HeartbeatTTL = 10 * time.Second

// ErrUnreachable is what every call returns while the servers are
// partitioned from the client.
var ErrUnreachable = errors.New("servers unreachable")

// Servers is an in-memory implementation of client.Servers.
type Servers struct {
	mu      sync.Mutex
	nodes   map[string]*api.Node
	allocs  map[string]*api.Allocation
	index   uint64
	changed chan struct{}
	// Updates counts the UpdateAllocations calls.
	updates int
	// allocUpdates counts the updates received per allocation.
	allocUpdates map[string]int
	ttl          time.Duration
	partitioned  bool
	// services holds the published service registrations by ID.
	services map[string]*api.ServiceRegistration
	// lookups answers templates' reads.
	lookups lookups
}

// NewServers returns empty fake servers.
func NewServers() *Servers {
	return &Servers{
		nodes: map[string]*api.Node{}, allocs: map[string]*api.Allocation{}, allocUpdates: map[string]int{},
		services: map[string]*api.ServiceRegistration{},
		changed:  make(chan struct{}), ttl: HeartbeatTTL,
	}
}

func (s *Servers) bumpLocked() {
	s.index++
	close(s.changed)
	s.changed = make(chan struct{})
}

// RegisterNode implements client.Servers.
func (s *Servers) RegisterNode(node *api.Node) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partitioned {
		return 0, ErrUnreachable
	}
	n := *node
	s.nodes[node.ID] = &n
	return s.ttl, nil
}

// Heartbeat implements client.Servers.
func (s *Servers) Heartbeat(nodeID string) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partitioned {
		return 0, ErrUnreachable
	}
	if _, ok := s.nodes[nodeID]; !ok {
		return 0, errors.New("node not found")
	}
	return s.ttl, nil
}

// NodeAllocations implements client.Servers.
func (s *Servers) NodeAllocations(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.Allocation, uint64, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.partitioned {
			s.mu.Unlock()
			return nil, 0, ErrUnreachable
		}
		index, changed := s.index, s.changed
		if index > minIndex {
			var out []*api.Allocation
			for _, a := range s.allocs {
				if a.NodeID == nodeID {
					c := *a
					out = append(out, &c)
				}
			}
			s.mu.Unlock()
			return out, index, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return nil, minIndex, nil
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// UpdateAllocations implements client.Servers.
func (s *Servers) UpdateAllocations(updates []*api.Allocation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partitioned {
		return ErrUnreachable
	}
	s.updates++
	for _, u := range updates {
		s.allocUpdates[u.ID]++
		a, ok := s.allocs[u.ID]
		if !ok {
			continue
		}
		c := *a
		c.ClientStatus, c.ClientDescription, c.TaskStates = u.ClientStatus, u.ClientDescription, u.TaskStates
		if u.DeploymentStatus != nil {
			c.DeploymentStatus = u.DeploymentStatus
		}
		s.allocs[u.ID] = &c
	}
	s.bumpLocked()
	return nil
}

// SignIdentities implements client.Servers with unsigned stand-ins: one
// "identity:<alloc>/<task>" per call, for tests of the client alone.
func (s *Servers) SignIdentities(args *structs.AllocSignIdentitiesArgs) ([]*structs.SignedIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partitioned {
		return nil, ErrUnreachable
	}
	return []*structs.SignedIdentity{{IdentityName: "default", JWT: "identity:" + args.AllocID + "/" + args.TaskName}}, nil
}

// UpsertServiceRegistrations implements client.Servers.
func (s *Servers) UpsertServiceRegistrations(regs []*api.ServiceRegistration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partitioned {
		return ErrUnreachable
	}
	for _, r := range regs {
		c := *r
		s.services[r.ID] = &c
	}
	defer s.lookups.bump()
	return nil
}

// DeleteServiceRegistrations implements client.Servers.
func (s *Servers) DeleteServiceRegistrations(namespace string, ids []string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partitioned {
		return 0, ErrUnreachable
	}
	for _, id := range ids {
		delete(s.services, id)
	}
	defer s.lookups.bump()
	return s.index, nil
}

// Services returns copies of the published service registrations.
func (s *Servers) Services() []*api.ServiceRegistration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*api.ServiceRegistration, 0, len(s.services))
	for _, r := range s.services {
		c := *r
		out = append(out, &c)
	}
	return out
}

// SetHeartbeatTTL sets the TTL handed out by later registrations and
// heartbeats.
func (s *Servers) SetHeartbeatTTL(ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = ttl
}

// Partition makes every call fail with ErrUnreachable (true) or work again
// (false); blocked allocation queries return at once.
func (s *Servers) Partition(partitioned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partitioned = partitioned
	close(s.changed)
	s.changed = make(chan struct{})
}

// SetClientStatus overwrites an allocation's client status as the servers
// do when they infer it (an "unknown" alloc of a disconnected node).
func (s *Servers) SetClientStatus(id, status, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *s.allocs[id]
	c.ClientStatus, c.ClientDescription = status, description
	s.allocs[id] = &c
	s.bumpLocked()
}

// Node returns the registered node, or nil.
func (s *Servers) Node(id string) *api.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[id]
}

// UpdateCount is the number of UpdateAllocations calls so far.
func (s *Servers) UpdateCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates
}

// AllocUpdateCount is the number of client updates received for an
// allocation so far.
func (s *Servers) AllocUpdateCount(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocUpdates[id]
}

// PutAlloc adds or replaces an allocation, bumping AllocModifyIndex.
func (s *Servers) PutAlloc(a *api.Allocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *a
	c.AllocModifyIndex = s.index + 1
	s.allocs[a.ID] = &c
	s.bumpLocked()
}

// StopAlloc sets an allocation's desired status to stop.
func (s *Servers) StopAlloc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *s.allocs[id]
	c.DesiredStatus = "stop"
	c.AllocModifyIndex = s.index + 1
	s.allocs[id] = &c
	s.bumpLocked()
}

// DeleteAlloc removes an allocation, as garbage collection does.
func (s *Servers) DeleteAlloc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.allocs, id)
	s.bumpLocked()
}

// Alloc returns a copy of the servers' view of an allocation.
func (s *Servers) Alloc(id string) *api.Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.allocs[id]
	if !ok {
		return nil
	}
	c := *a
	return &c
}
