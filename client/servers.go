package client

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/template"
	"github.com/roam-project/roam/structs"
)

// Servers is what the client needs from the server cluster.
type Servers interface {
	// RegisterNode registers or re-registers the node (status "initializing"
	// or "ready") and returns the heartbeat TTL.
	RegisterNode(node *api.Node) (heartbeatTTL time.Duration, err error)
	// Heartbeat keeps the node alive (status "ready") and returns the next TTL.
	Heartbeat(nodeID string) (heartbeatTTL time.Duration, err error)
	// NodeAllocations blocks until the node's allocations change past
	// minIndex (or wait passes) and returns them all, with their Job, plus
	// the index.
	NodeAllocations(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.Allocation, uint64, error)
	// UpdateAllocations reports client-side state: ID, NodeID, ClientStatus,
	// ClientDescription, TaskStates, DeploymentStatus.
	UpdateAllocations(updates []*api.Allocation) error
	// UpsertServiceRegistrations publishes the node's Nomad-provider
	// services.
	UpsertServiceRegistrations(regs []*api.ServiceRegistration) error
	// DeleteServiceRegistrations withdraws services by ID; with namespace
	// "" IDs already gone are skipped.
	DeleteServiceRegistrations(namespace string, ids []string) (uint64, error)
	// SignIdentities returns the signed workload identities of one task
	// of one of the node's allocations.
	SignIdentities(args *structs.AllocSignIdentitiesArgs) ([]*structs.SignedIdentity, error)
	// Source answers the lookups of tasks' templates.
	template.Source
}
