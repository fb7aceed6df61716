package structs

import "github.com/hashicorp/nomad/api"

// ServiceProviderNomad is the service block provider that registers the
// service in Roam's own catalogue rather than in Consul.
const ServiceProviderNomad = "nomad"

// ServiceRegistrationUpsertRequest stores service registrations, as a
// client publishes its allocations' services.
type ServiceRegistrationUpsertRequest struct {
	Services []*api.ServiceRegistration
	Time     int64
}

// ServiceRegistrationDeleteRequest removes service registrations by ID,
// and every registration of the named allocations.
type ServiceRegistrationDeleteRequest struct {
	IDs      []string
	AllocIDs []string
	Time     int64
}

// ServiceRegistrationUpsertArgs is the "ServiceRegistration.Upsert" RPC's
// argument.
type ServiceRegistrationUpsertArgs struct {
	Services []*api.ServiceRegistration
	NodeAuth
}

// ServiceRegistrationDeleteArgs is the "ServiceRegistration.Delete" RPC's
// argument: registrations by ID, within Namespace when it is set.
type ServiceRegistrationDeleteArgs struct {
	Namespace string
	IDs       []string
	NodeAuth
}
