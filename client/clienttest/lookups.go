package clienttest

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// lookups holds the variables templates read from the fake servers, and
// wakes blocked reads when they or the services change.
type lookups struct {
	mu      sync.Mutex
	index   uint64
	changed chan struct{}
	vars    map[string]*api.Variable
}

func (l *lookups) init() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed, l.vars, l.index = make(chan struct{}), map[string]*api.Variable{}, 1
	}
}

// bump records a change and wakes blocked reads.
func (l *lookups) bump() {
	l.init()
	l.mu.Lock()
	l.index++
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// wait blocks until the index passes min or ctx ends, and returns it.
func (l *lookups) wait(ctx context.Context, min uint64) (uint64, error) {
	l.init()
	for {
		l.mu.Lock()
		index, changed := l.index, l.changed
		l.mu.Unlock()
		if index > min {
			return index, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// PutVar stores a variable templates can read (nil items delete it).
func (s *Servers) PutVar(namespace, path string, items map[string]string) {
	s.lookups.init()
	s.lookups.mu.Lock()
	key := namespace + "\x00" + path
	if items == nil {
		delete(s.lookups.vars, key)
	} else {
		s.lookups.vars[key] = &api.Variable{Namespace: namespace, Path: path, Items: items, ModifyIndex: s.lookups.index + 1}
	}
	s.lookups.mu.Unlock()
	s.lookups.bump()
}

// ReadVar implements client.Servers.
func (s *Servers) ReadVar(ctx context.Context, args *structs.VarReadArgs) (*structs.VarReadReply, error) {
	index, err := s.lookups.wait(ctx, args.MinIndex)
	if err != nil {
		return nil, err
	}
	s.lookups.mu.Lock()
	defer s.lookups.mu.Unlock()
	reply := &structs.VarReadReply{Index: index}
	if v := s.lookups.vars[nsOrDefault(args.Namespace)+"\x00"+args.Path]; v != nil {
		c := *v
		reply.Var = &c
	}
	return reply, nil
}

// ListVars implements client.Servers.
func (s *Servers) ListVars(ctx context.Context, args *structs.VarListArgs) (*structs.VarListReply, error) {
	index, err := s.lookups.wait(ctx, args.MinIndex)
	if err != nil {
		return nil, err
	}
	s.lookups.mu.Lock()
	defer s.lookups.mu.Unlock()
	reply := &structs.VarListReply{Index: index}
	for _, v := range s.lookups.vars {
		if v.Namespace == nsOrDefault(args.Namespace) && strings.HasPrefix(v.Path, args.Prefix) {
			reply.Vars = append(reply.Vars, &api.VariableMetadata{Namespace: v.Namespace, Path: v.Path, ModifyIndex: v.ModifyIndex})
		}
	}
	sort.Slice(reply.Vars, func(i, j int) bool { return reply.Vars[i].Path < reply.Vars[j].Path })
	return reply, nil
}

// ListServiceRegistrations implements client.Servers.
func (s *Servers) ListServiceRegistrations(ctx context.Context, args *structs.ServiceListArgs) (*structs.ServiceListReply, error) {
	index, err := s.lookups.wait(ctx, args.MinIndex)
	if err != nil {
		return nil, err
	}
	reply := &structs.ServiceListReply{Index: index}
	for _, r := range s.Services() {
		if (args.Namespace == "*" || r.Namespace == nsOrDefault(args.Namespace)) && (args.Name == "" || r.ServiceName == args.Name) {
			reply.Services = append(reply.Services, r)
		}
	}
	return reply, nil
}

func nsOrDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
