// Package clienttest provides an in-memory stand-in for the server cluster
// and allocation builders, for tests of the client and its HTTP endpoints.
package clienttest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// HeartbeatTTL is the TTL the fake servers hand out.
const HeartbeatTTL = 10 * time.Second

// Servers is an in-memory implementation of client.Servers.
type Servers struct {
	mu      sync.Mutex
	nodes   map[string]*api.Node
	allocs  map[string]*api.Allocation
	index   uint64
	changed chan struct{}
	// Updates counts the UpdateAllocations calls.
	updates int
}

// NewServers returns empty fake servers.
func NewServers() *Servers {
	return &Servers{nodes: map[string]*api.Node{}, allocs: map[string]*api.Allocation{}, changed: make(chan struct{})}
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
	n := *node
	s.nodes[node.ID] = &n
	return HeartbeatTTL, nil
}

// Heartbeat implements client.Servers.
func (s *Servers) Heartbeat(nodeID string) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nodes[nodeID]; !ok {
		return 0, errors.New("node not found")
	}
	return HeartbeatTTL, nil
}

// NodeAllocations implements client.Servers.
func (s *Servers) NodeAllocations(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.Allocation, uint64, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
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
	s.updates++
	for _, u := range updates {
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
