// Package nodesim simulates many client nodes in one process for scale
// runs: each simulated node registers with its own SecretID, heartbeats,
// long-polls its allocations and reports them running (or complete, for
// batch jobs) through the same RPC client the real client agent uses
// (client/rpcservers). No task is started.
package nodesim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/rpcservers"
	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/structs"
)

// Driver is the task driver every simulated node advertises (one every
// server accepts in a job); nothing is ever run with it.
const Driver = "raw_exec"

// Config sizes the simulation.
type Config struct {
	// Servers are the servers' RPC addresses.
	Servers []string
	// Nodes is how many nodes to simulate.
	Nodes int
	// Datacenters spreads the nodes over dc1..dcK (at least one).
	Datacenters int
	// CPU (MHz) and MemoryMB are each node's capacity.
	CPU, MemoryMB int
	// NamePrefix names nodes <prefix>-<n>; it defaults to "sim".
	NamePrefix string
	// Dial is how nodes connect (TLS or not).
	Dial rpc.DialConfig
	// StartRate bounds registrations per second while nodes come up
	// (0: 500), so that a large run does not stampede the servers.
	StartRate int
	Logger    *slog.Logger
}

// Stats are the simulation's counters so far.
type Stats struct {
	// NodesUp is how many nodes have registered.
	NodesUp int64
	// AllocsSeen counts distinct allocations the nodes were handed.
	AllocsSeen int64
	// Running and Complete count allocations reported in that state.
	Running, Complete int64
	// Updates counts allocation updates sent; Heartbeats heartbeats sent;
	// Errors failed RPCs.
	Updates, Heartbeats, Errors int64
	// LastChange is when an allocation last reached running or complete.
	LastChange time.Time
}

// Sim is a running simulation.
type Sim struct {
	cfg   Config
	nodes []*simNode

	nodesUp, allocsSeen, running, complete atomic.Int64
	updates, heartbeats, errors            atomic.Int64
	lastChange                             atomic.Int64 // Unix nanoseconds
}

// New prepares a simulation; Run starts it.
func New(cfg Config) (*Sim, error) {
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("nodesim: no servers given")
	}
	if cfg.Nodes <= 0 {
		return nil, fmt.Errorf("nodesim: the number of nodes must be positive, not %d", cfg.Nodes)
	}
	cfg.Datacenters = max(cfg.Datacenters, 1)
	if cfg.CPU <= 0 {
		cfg.CPU = 100_000
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = 256_000
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "sim"
	}
	if cfg.StartRate <= 0 {
		cfg.StartRate = 500
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sim{cfg: cfg}, nil
}

// Stats returns the counters so far.
func (s *Sim) Stats() Stats {
	return Stats{
		NodesUp: s.nodesUp.Load(), AllocsSeen: s.allocsSeen.Load(),
		Running: s.running.Load(), Complete: s.complete.Load(),
		Updates: s.updates.Load(), Heartbeats: s.heartbeats.Load(), Errors: s.errors.Load(),
		LastChange: time.Unix(0, s.lastChange.Load()),
	}
}

// Run brings the nodes up and keeps them alive until ctx ends, then closes
// their connections. It returns once every node has stopped.
func (s *Sim) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(s.cfg.StartRate))
	defer tick.Stop()
	for i := 0; i < s.cfg.Nodes; i++ {
		n, err := s.newNode(i)
		if err != nil {
			return err
		}
		s.nodes = append(s.nodes, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.run(ctx)
		}()
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	return nil
}

func (s *Sim) newNode(i int) (*simNode, error) {
	servers, err := rpcservers.New(s.cfg.Servers, s.cfg.Dial)
	if err != nil {
		return nil, err
	}
	id, secret := newUUID(), newSecret()
	servers.Identify(id, secret)
	return &simNode{
		sim: s, servers: servers, node: s.nodeSpec(i, id),
		known: map[string]string{}, pending: map[string]*api.Allocation{},
		notify: make(chan struct{}, 1),
	}, nil
}

// nodeSpec is what simulated node i registers as.
func (s *Sim) nodeSpec(i int, id string) *api.Node {
	return &api.Node{
		ID: id, Name: fmt.Sprintf("%s-%d", s.cfg.NamePrefix, i),
		Datacenter: fmt.Sprintf("dc%d", i%s.cfg.Datacenters+1), NodePool: "default",
		Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: map[string]string{
			"kernel.name": "linux", "arch": "amd64", "cpu.arch": "amd64", "os.name": "nodesim",
			"unique.hostname": fmt.Sprintf("%s-%d", s.cfg.NamePrefix, i), "driver." + Driver: "1",
			"nomad.version": "1.9.0",
		},
		Drivers: map[string]*api.DriverInfo{
			Driver: {Detected: true, Healthy: true, HealthDescription: "Healthy", UpdateTime: time.Now().UTC()},
		},
		NodeResources: &api.NodeResources{
			Cpu:    api.NodeCpuResources{CpuShares: int64(s.cfg.CPU)},
			Memory: api.NodeMemoryResources{MemoryMB: int64(s.cfg.MemoryMB)},
			Disk:   api.NodeDiskResources{DiskMB: 1_000_000},
		},
		ReservedResources: &api.NodeReservedResources{},
	}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
