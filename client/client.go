// Package client is Roam's node agent: it fingerprints the machine,
// registers the node with the servers and heartbeats, watches the node's
// allocations and runs them through alloc runners, and reports their state
// back in batches. Its state lives in StateDir so that a restarted client
// re-attaches to the tasks it left running.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocrunner"
	"github.com/roam-project/roam/client/hoststats"
	"github.com/roam-project/roam/client/state"
	"github.com/roam-project/roam/devices"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/network"
	"github.com/roam-project/roam/structs"
)

// stateFile is the bbolt file in StateDir.
const stateFile = "state.db"

// ErrUnknownAllocation is returned for an allocation the client does not run.
var ErrUnknownAllocation = errors.New("Unknown allocation")

// Client is a running node agent.
type Client struct {
	cfg     *Config
	servers Servers
	logger  *slog.Logger
	nodeID  string
	db      *state.DB
	updates *updater
	host    *hoststats.Collector
	contact *contactTracker
	stopper *disconnectStopper
	network *network.Manager
	// overlay is the cluster network's overlay, overlayErr why it could
	// not start (both nil without a cluster network).
	overlay    network.Overlay
	overlayErr error
	// vxlanToo is the VXLAN overlay a WireGuard node with
	// `fallback = "vxlan"` also runs toward VXLAN-only nodes (nil
	// otherwise): that traffic is unencrypted.
	vxlanToo network.Overlay
	devices  *devices.Manager
	// unknown holds the allocations the servers list as "unknown"; owned
	// by watchAllocations.
	unknown map[string]bool

	mu     sync.RWMutex
	node   *api.Node
	allocs map[string]*allocrunner.AllocRunner
	// dynamicMeta is the node metadata set through the API (guarded by
	// mu); metaMu orders its updates, and metaChanged asks for the node
	// to be registered again with it.
	dynamicMeta map[string]*string
	metaMu      sync.Mutex
	metaChanged chan struct{}
	identity    *nodeIdentity

	runMu    sync.Mutex
	stopped  bool
	cancel   context.CancelFunc
	running  sync.WaitGroup
	shutdown sync.Once
}

// New creates a client: it prepares its directories, loads the node ID and
// state, and fingerprints the machine. Run starts it.
func New(cfg *Config, servers Servers) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// The state directory (node ID, task handles) is root's alone; the
	// alloc directory stays traversable for tasks that run as other users.
	for dir, mode := range map[string]os.FileMode{cfg.StateDir: 0o700, cfg.AllocDir: 0o755} {
		if err := os.MkdirAll(dir, mode); err != nil {
			return nil, fmt.Errorf("create client dir: %w", err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			return nil, fmt.Errorf("set client dir permissions: %w", err)
		}
	}
	nodeID := cfg.NodeID
	if nodeID == "" {
		var err error
		if nodeID, err = loadNodeID(cfg.StateDir); err != nil {
			return nil, err
		}
	}
	db, err := state.Open(filepath.Join(cfg.StateDir, stateFile))
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, servers: servers, logger: cfg.Logger.With("component", "client"),
		nodeID: nodeID, db: db, allocs: map[string]*allocrunner.AllocRunner{}, unknown: map[string]bool{},
		metaChanged: make(chan struct{}, 1),
	}
	if c.dynamicMeta, err = db.NodeMeta(); err != nil {
		db.Close()
		return nil, err
	}
	jwt, err := db.NodeIdentity()
	if err != nil {
		db.Close()
		return nil, err
	}
	c.identity = newNodeIdentity(jwt)
	c.network, err = network.New(network.Config{
		Bridge: cfg.BridgeNetworkName, Subnet: cfg.BridgeNetworkSubnet, ClusterCIDR: cfg.ClusterNetworkCIDR,
		Store: db, Logger: c.logger,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	c.updates = newUpdater(servers, c.logger)
	c.devices = devices.NewManager(cfg.Logger, cfg.DevicePlugins...)
	c.stopper = newDisconnectStopper(c)
	if c.contact, err = newContactTracker(db, c.logger, time.Now()); err != nil {
		db.Close()
		return nil, err
	}
	node, err := c.buildNode(context.Background())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("fingerprint node: %w", err)
	}
	c.node = node
	if c.overlay != nil {
		mtu := c.overlay.MTU()
		if c.vxlanToo != nil {
			mtu = min(mtu, c.vxlanToo.MTU())
		}
		c.network.SetMTU(mtu)
	}
	if c.overlay == nil || c.overlay.Kind() != network.OverlayWireGuard {
		c.leaveWireGuard()
	}
	mhz, _ := strconv.ParseFloat(node.Attributes["cpu.frequency"], 64)
	c.host = hoststats.NewCollector(cfg.AllocDir, mhz)
	return c, nil
}

// Node returns a copy of the node as last registered.
func (c *Client) Node() *api.Node {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := *c.node
	return &n
}

// Run restores allocations left by an earlier client, registers the node,
// heartbeats and runs the node's allocations until ctx is done.
func (c *Client) Run(ctx context.Context) error {
	c.runMu.Lock()
	if c.stopped {
		c.runMu.Unlock()
		return errors.New("client is shut down")
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.running.Add(1)
	c.runMu.Unlock()
	defer c.running.Done()

	if err := c.restore(); err != nil {
		c.logger.Error("restore client state", "error", err)
	}
	// The time this client was away counts: stop what overstayed its
	// window before the servers are contacted again.
	c.stopper.check(time.Now())
	var loops sync.WaitGroup
	defer loops.Wait()
	loops.Go(func() { c.updates.run(ctx) })
	loops.Go(func() { c.stopper.run(ctx) })
	ttl, err := c.register(ctx)
	if err != nil {
		return err
	}
	loops.Go(func() { c.heartbeat(ctx, ttl) })
	if c.cfg.ClusterNetworkCIDR != "" {
		if err := c.joinClusterNetwork(ctx, loops.Go); err != nil {
			return err
		}
	}
	loops.Go(func() { c.enforcePolicies(ctx) })
	loops.Go(func() { c.watchDrivers(ctx) })
	loops.Go(func() { c.watchNodeMeta(ctx) })
	if is, ok := c.servers.(identityServers); ok {
		loops.Go(func() { c.watchIdentity(ctx, is) })
	}
	loops.Go(func() { c.watchDevices(ctx) })
	if hs, ok := c.servers.(hostVolumeServers); ok {
		loops.Go(func() { c.watchHostVolumes(ctx, hs) })
	}
	c.watchAllocations(ctx)
	return ctx.Err()
}

// Shutdown stops the client's loops and its alloc runners and closes the
// state. Running tasks keep running, for the next client to re-attach to.
func (c *Client) Shutdown() error {
	var err error
	c.shutdown.Do(func() {
		c.stopLoops()
		for _, ar := range c.runners() {
			ar.Shutdown()
		}
		err = c.db.Close()
	})
	return err
}

// stopLoops stops registration, heartbeats, the alloc watch and status
// updates, and waits for Run to return.
func (c *Client) stopLoops() {
	c.runMu.Lock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel()
	}
	c.runMu.Unlock()
	c.running.Wait()
}

// restore starts alloc runners for the allocations in the state file; their
// task runners re-attach to tasks still running.
func (c *Client) restore() error {
	allocs, err := c.db.Allocs()
	if err != nil {
		return err
	}
	for _, a := range allocs {
		tasks, err := c.db.Tasks(a.ID)
		if err != nil {
			c.logger.Error("restore alloc tasks", "alloc_id", a.ID, "error", err)
			continue
		}
		c.startAlloc(a, tasks)
	}
	if len(allocs) > 0 {
		c.logger.Info("restored allocations", "count", len(allocs))
	}
	// Networks whose allocation is gone (a crash between the two) go,
	// with the pause containers holding their namespaces.
	gone, err := c.network.Reconcile(func(id string) bool {
		c.mu.RLock()
		defer c.mu.RUnlock()
		return c.allocs[id] != nil
	})
	for _, id := range gone {
		for _, d := range c.cfg.Drivers {
			if nc, ok := d.(drivers.NetworkCreator); ok {
				if derr := nc.DestroyNetwork(id); derr != nil {
					err = errors.Join(err, derr)
				}
			}
		}
	}
	return err
}

// startAlloc creates and runs an alloc runner.
func (c *Client) startAlloc(a *api.Allocation, restored map[string]*state.TaskRecord) {
	var previous allocrunner.PreviousAlloc
	c.mu.RLock()
	if prev, ok := c.allocs[a.PreviousAllocation]; ok && a.PreviousAllocation != "" {
		previous = prev
	}
	c.mu.RUnlock()
	ar, err := allocrunner.New(allocrunner.Config{
		Alloc: a, Node: c.Node(), Region: c.cfg.Region, Drivers: c.cfg.Drivers,
		AllocRoot: c.cfg.AllocDir, State: c.db, Logger: c.cfg.Logger,
		OnUpdate: c.updates.queue, Restored: restored, Services: c.servers, Identities: c.servers, Network: c.network,
		Lookups: c.servers, TemplateSettings: c.cfg.Templates, TaskAPI: c.cfg.TaskAPI, Devices: c.devices,
		Previous: previous,
	})
	if err != nil {
		c.logger.Error("create alloc runner", "alloc_id", a.ID, "error", err)
		c.updates.queue(&api.Allocation{
			ID: a.ID, NodeID: a.NodeID, ClientStatus: structs.AllocClientStatusFailed, ClientDescription: err.Error(),
		})
		return
	}
	c.mu.Lock()
	c.allocs[a.ID] = ar
	c.mu.Unlock()
	go ar.Run()
}

// runners returns the alloc runners.
func (c *Client) runners() []*allocrunner.AllocRunner {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*allocrunner.AllocRunner, 0, len(c.allocs))
	for _, ar := range c.allocs {
		out = append(out, ar)
	}
	return out
}

// AllocRunner returns the runner of an allocation on this client.
func (c *Client) AllocRunner(allocID string) (*allocrunner.AllocRunner, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ar, ok := c.allocs[allocID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownAllocation, allocID)
	}
	return ar, nil
}

// HostStats samples the machine's resource usage.
func (c *Client) HostStats() (*api.HostStats, error) {
	stats, err := c.host.Collect()
	if err != nil {
		return nil, err
	}
	stats.DeviceStats = c.devices.Stats(context.Background())
	return stats, nil
}

// DestroyAllocs stops the client's loops, then kills every allocation's
// tasks and removes their directories and state. Agents whose data dir is
// temporary (-dev) call it before Shutdown so that no task outlives them.
func (c *Client) DestroyAllocs(ctx context.Context) error {
	c.stopLoops()
	c.mu.Lock()
	runners := make([]*allocrunner.AllocRunner, 0, len(c.allocs))
	for id, ar := range c.allocs {
		runners = append(runners, ar)
		delete(c.allocs, id)
	}
	c.mu.Unlock()
	errs := make([]error, len(runners))
	var wg sync.WaitGroup
	for i, ar := range runners {
		wg.Go(func() { errs[i] = ar.Destroy(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// AllocCount is the number of allocations this client runs or keeps.
func (c *Client) AllocCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.allocs)
}
