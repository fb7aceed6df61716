package taskrunner

import (
	"github.com/roam-project/roam/drivers"
)

// Network is the allocation's network as its tasks join it.
type Network struct {
	// Isolation is the namespace the task runs in.
	Isolation *drivers.NetworkIsolation
	// Address is the allocation's own address (NOMAD_ALLOC_IP_*).
	Address string
	// Cluster says Address is on the cluster network: NOMAD_IP_* and
	// NOMAD_ADDR_* carry it too, since it works from every node.
	Cluster bool
	// Err fails the task's start: the network could not be set up.
	Err error
}

// SetNetwork gives the task its allocation's network before it first
// starts.
func (tr *TaskRunner) SetNetwork(n *Network) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.network = n
}

func (tr *TaskRunner) networkLocked() *Network {
	if tr.network == nil {
		return &Network{}
	}
	return tr.network
}

// networkHook puts the task in its allocation's network namespace.
type networkHook struct{}

func (networkHook) Name() string { return "network" }

func (networkHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	tr.mu.Lock()
	n := tr.networkLocked()
	tr.mu.Unlock()
	if n.Err != nil {
		return n.Err
	}
	cfg.Network = n.Isolation
	return nil
}
